// The validated description ("plan") of one mixed depthwise convolution call, shared by the CPU
// kernels, the CUDA launch planning and the tests' CUDA emulation. Plain C++ (no torch headers).
#pragma once

#include <cstdint>
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

// The plan of an input [n, c, h, w] and groups (channels[g], kernels[g], pads[2g], pads[2g + 1]);
// no checks (make_plan in mixconv.h checks the op's arguments first).
template <typename Ints>
MixPlan plan_of(int64_t n, int64_t c, int64_t h, int64_t w, const Ints& channels, const Ints& kernels,
                const Ints& pads, int64_t stride, int64_t dilation) {
  MixPlan plan{n, c, h, w, (h - 1) / stride + 1, (w - 1) / stride + 1, stride, dilation, {}};
  int64_t c_begin = 0, w_offset = 0;
  for (size_t g = 0; g < channels.size(); ++g) {
    plan.groups.push_back({c_begin, channels[g], kernels[g], pads[2 * g], pads[2 * g + 1], w_offset});
    c_begin += channels[g];
    w_offset += channels[g] * kernels[g] * kernels[g];
  }
  return plan;
}

// Values of all groups' weights packed in order (the layout of the weight gradient): sum C_g * k_g^2.
inline int64_t packed_size(const MixPlan& plan) {
  const MixGroup& last = plan.groups.back();
  return last.w_offset + last.channels * last.k * last.k;
}

}  // namespace mixdet
