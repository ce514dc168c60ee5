// Shared between the CPU and CUDA kernels of mixdet::mixconv2d: the validated
// description ("plan") of one mixed depthwise convolution call.
#pragma once

#include <ATen/core/Tensor.h>

#include "mixconv_plan.h"

namespace mixdet {

// Checks the op's arguments (TORCH_CHECK with a message per problem) and builds the plan.
MixPlan make_plan(const at::Tensor& x, const at::Tensor& w_packed, at::IntArrayRef channels,
                  at::IntArrayRef kernels, at::IntArrayRef pads, int64_t stride, int64_t dilation);

// Checks grad_out against the plan's output shape and the backward's output mask.
void check_backward_args(const at::Tensor& grad_out, const at::Tensor& x, const MixPlan& plan);

}  // namespace mixdet
