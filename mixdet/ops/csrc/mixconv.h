// Shared between the CPU and CUDA kernels of mixdet::mixconv2d: the validated
// description ("plan") of one mixed depthwise convolution call.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace mixdet {

// One channel group: channels [c_begin, c_begin + channels) use a k x k kernel whose
// weights start at w_offset in the packed buffer ([channels, k, k], row-major).
struct MixGroup {
  int64_t c_begin, channels, k, pad_top, pad_left, w_offset;
};

// Input [n, c, h, w] -> output [n, c, h_out, w_out] with h_out = ceil(h / stride).
struct MixPlan {
  int64_t n, c, h, w, h_out, w_out, stride, dilation;
  std::vector<MixGroup> groups;
};

// Checks the op's arguments (TORCH_CHECK with a message per problem) and builds the plan.
MixPlan make_plan(const at::Tensor& x, const at::Tensor& w_packed, at::IntArrayRef channels,
                  at::IntArrayRef kernels, at::IntArrayRef pads, int64_t stride, int64_t dilation);

// Checks grad_out against the plan's output shape and the backward's output mask.
void check_backward_args(const at::Tensor& grad_out, const at::Tensor& x, const MixPlan& plan);

}  // namespace mixdet
