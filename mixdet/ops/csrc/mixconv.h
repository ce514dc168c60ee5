// Shared between the CPU and CUDA kernels of mixdet::mixconv2d: the validated
// description ("plan") of one mixed depthwise convolution call.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "mixconv_plan.h"

namespace mixdet {

// Checks the op's arguments (TORCH_CHECK with a message per problem) and builds the plan; channels and
// kernel sizes come from the weights' shapes [C_g, 1, k_g, k_g].
MixPlan make_plan(const at::Tensor& x, at::TensorList weights, at::IntArrayRef pads, int64_t stride,
                  int64_t dilation);

// The weights, each made contiguous (no copy when it already is), and their data pointers.
std::vector<at::Tensor> contiguous_weights(at::TensorList weights);

template <typename scalar_t>
std::vector<const scalar_t*> weight_pointers(const std::vector<at::Tensor>& weights) {
  std::vector<const scalar_t*> ptrs;
  for (const at::Tensor& w : weights) ptrs.push_back(w.const_data_ptr<scalar_t>());
  return ptrs;
}

// Checks grad_out against the plan's output shape and the backward's output mask.
void check_backward_args(const at::Tensor& grad_out, const at::Tensor& x, const MixPlan& plan);

}  // namespace mixdet
