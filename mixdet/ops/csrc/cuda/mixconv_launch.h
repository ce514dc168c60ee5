// Launch planning of the CUDA MixConv kernels: tile, channels per CTA, grid, shared memory and
// workspace. Host-only plain C++ (no CUDA or torch headers): the CUDA build, the CPU build (for
// mixdet::_cuda_launch_plan) and the tests' CUDA emulation compile this same code.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../mixconv_plan.h"

namespace mixdet {
namespace cuda {

constexpr int kMaxGroups = 8;
constexpr int kMaxKernel = 11;              // kernel sizes 1, 3, ..., 11 are compiled
constexpr int kThreads = 256;
constexpr int kStrip = 4;                   // forward outputs per thread along W
constexpr int kTargetOutputs = 1024;        // outputs per CTA the tiling aims for
constexpr int64_t kSmemLimit = 48 * 1024;   // no opt-in to larger dynamic shared memory

struct GroupArgs {
  int c_begin, channels, k, pad_top, pad_left;
  int64_t w_offset;
};

// Kernel parameters of one launch. Groups are sorted by descending k; item_begin[g] is the first
// CTA of group g.
struct LaunchArgs {
  GroupArgs groups[kMaxGroups];
  int64_t item_begin[kMaxGroups + 1];
  int num_groups, n, c, h, w, h_out, w_out, stride;
  int tile_h, tile_w, cb, tiles_y, tiles_x;
  int64_t w_total;
};

// One kernel launch: grid (blocks_x, blocks_y), threads per CTA, dynamic shared memory bytes.
struct Launch {
  int64_t blocks_x = 0, blocks_y = 1;
  int threads = kThreads;
  int64_t smem_bytes = 0;
};

struct ForwardPlan {
  LaunchArgs args;
  Launch conv;
};

// Backward: `conv` writes dX and per-tile fp32 partial weight gradients ([partial_rows, w_total]);
// `reduce` sums them into dW.
struct BackwardPlan {
  LaunchArgs args;
  Launch conv, reduce;
  int64_t partial_rows, workspace_bytes;
};

// Why the CUDA kernels cannot run this call, or "" when they can.
inline std::string unsupported(const MixPlan& plan) {
  if (plan.groups.size() > static_cast<size_t>(kMaxGroups))
    return "at most " + std::to_string(kMaxGroups) + " groups, got " + std::to_string(plan.groups.size());
  if (plan.stride != 1 && plan.stride != 2) return "stride must be 1 or 2, got " + std::to_string(plan.stride);
  if (plan.dilation != 1) return "dilation must be 1, got " + std::to_string(plan.dilation);
  for (const MixGroup& g : plan.groups)
    if (g.k > kMaxKernel) return "kernel sizes 1, 3, 5, 7, 9 and 11 are compiled, got " + std::to_string(g.k);
  if (plan.c * plan.h * plan.w >= (int64_t(1) << 31))
    return "one image of " + std::to_string(plan.c) + "x" + std::to_string(plan.h) + "x" + std::to_string(plan.w) +
           " is too large for 32-bit channel/pixel indexing";
  return "";
}

// Shared-memory bytes per channel of a pass (sized for the largest kernel of the call).
inline int64_t smem_per_channel(bool backward, int k, int s, int tile_h, int tile_w, int64_t elem) {
  if (!backward) {
    const int tw_pad = (tile_w + kStrip - 1) / kStrip * kStrip;
    return elem * (k * k + ((tile_h - 1) * s + k) * ((tw_pad - 1) * s + k));
  }
  const int64_t dy = (tile_h + (k + s - 2) / s + 1) * (tile_w + (k + s - 2) / s + 1);
  return elem * (k * k + dy + ((tile_h - 1) * s + k) * ((tile_w - 1) * s + k));
}

// Picks the tile and the channels per CTA, and lays out the item ranges of the groups.
// `elem`: bytes of the accumulation type (the shared-memory element).
inline LaunchArgs make_launch(const MixPlan& plan, bool backward, int64_t elem) {
  const std::string why = unsupported(plan);
  if (!why.empty()) throw std::invalid_argument("mixconv2d (CUDA): " + why);
  LaunchArgs a{};
  a.num_groups = static_cast<int>(plan.groups.size());
  a.n = plan.n, a.c = plan.c, a.h = plan.h, a.w = plan.w, a.h_out = plan.h_out, a.w_out = plan.w_out;
  a.stride = static_cast<int>(plan.stride);
  int k_max = 1, c_max = 1;
  std::array<int, kMaxGroups> order{};
  for (int g = 0; g < a.num_groups; ++g) {
    k_max = std::max<int>(k_max, plan.groups[g].k);
    c_max = std::max<int>(c_max, plan.groups[g].channels);
    order[g] = g;
  }
  std::stable_sort(order.begin(), order.begin() + a.num_groups,
                   [&](int l, int r) { return plan.groups[l].k > plan.groups[r].k; });
  const int s = a.stride;
  a.tile_w = static_cast<int>(std::min<int64_t>(plan.w_out, 64));
  a.tile_h = static_cast<int>(std::min<int64_t>(plan.h_out, std::max(1, kTargetOutputs / a.tile_w)));
  while (a.tile_h > 1 && smem_per_channel(backward, k_max, s, a.tile_h, a.tile_w, elem) > kSmemLimit) a.tile_h /= 2;
  const int64_t per_channel = smem_per_channel(backward, k_max, s, a.tile_h, a.tile_w, elem);
  if (per_channel > kSmemLimit) throw std::invalid_argument("mixconv2d (CUDA): tile does not fit in shared memory");
  a.cb = static_cast<int>(std::min<int64_t>(
      {std::max(1, kTargetOutputs / (a.tile_h * a.tile_w)), kSmemLimit / per_channel, c_max}));
  a.tiles_y = static_cast<int>((plan.h_out + a.tile_h - 1) / a.tile_h);
  a.tiles_x = static_cast<int>((plan.w_out + a.tile_w - 1) / a.tile_w);
  int64_t item = 0;
  for (int j = 0; j < a.num_groups; ++j) {
    const MixGroup& src = plan.groups[order[j]];
    a.groups[j] = {static_cast<int>(src.c_begin), static_cast<int>(src.channels), static_cast<int>(src.k),
                   static_cast<int>(src.pad_top), static_cast<int>(src.pad_left), src.w_offset};
    a.item_begin[j] = item;
    item += plan.n * ((src.channels + a.cb - 1) / a.cb) * a.tiles_y * a.tiles_x;
  }
  a.item_begin[a.num_groups] = item;
  if (item >= (int64_t(1) << 31))
    throw std::invalid_argument("mixconv2d (CUDA): " + std::to_string(item) + " CTAs exceed the grid limit");
  const MixGroup& last = plan.groups.back();
  a.w_total = last.w_offset + last.channels * last.k * last.k;
  return a;
}

inline int64_t smem_bytes(const LaunchArgs& a, bool backward, int64_t elem) {
  int k_max = 1;
  for (int g = 0; g < a.num_groups; ++g) k_max = std::max(k_max, a.groups[g].k);
  return a.cb * smem_per_channel(backward, k_max, a.stride, a.tile_h, a.tile_w, elem);
}

inline ForwardPlan plan_forward(const MixPlan& plan, int64_t elem) {
  ForwardPlan p;
  p.args = make_launch(plan, false, elem);
  p.conv.blocks_x = p.args.item_begin[p.args.num_groups];
  p.conv.smem_bytes = smem_bytes(p.args, false, elem);
  return p;
}

inline BackwardPlan plan_backward(const MixPlan& plan, int64_t elem, bool need_dw) {
  BackwardPlan p;
  p.args = make_launch(plan, true, elem);
  p.conv.blocks_x = p.args.item_begin[p.args.num_groups];
  p.conv.smem_bytes = smem_bytes(p.args, true, elem);
  p.partial_rows = plan.n * p.args.tiles_y * p.args.tiles_x;
  p.workspace_bytes = need_dw ? p.partial_rows * p.args.w_total * elem : 0;
  p.reduce.blocks_x = need_dw ? std::min<int64_t>((p.args.w_total + kThreads - 1) / kThreads, 4096) : 0;
  return p;
}

}  // namespace cuda
}  // namespace mixdet
