// Launch planning of the CUDA MixConv kernels: tiles, channels per CTA, grids, shared memory and the
// weight-gradient workspace. Host-only plain C++ (no CUDA or torch headers): the CUDA build, the CPU
// build (mixdet::_cuda_launch_plan reports plans on any machine) and the tests' CUDA emulation compile
// this same code.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../mixconv_plan.h"

// The layout helpers below are also used by the device code.
#if defined(__CUDACC__)
#define MIXDET_HOST_DEVICE __host__ __device__
#else
#define MIXDET_HOST_DEVICE
#endif

namespace mixdet {
namespace cuda {

constexpr int kMaxGroups = 8;
constexpr int kMaxKernel = 11;                      // kernel sizes 1, 3, ..., 11 are compiled
constexpr int kThreads = 256;                       // threads per CTA of every kernel
constexpr int kStrip = 4;                           // forward outputs per thread along W
constexpr int kWideStrip = 8;                       // the same, 2-byte inputs on planes of whole 8-wide strips
constexpr int kDxStrip = 4;                         // backward: input pixels per thread along W (dX)
constexpr int kDwStrip = 4;                         // backward: outputs per thread along W (dW)
constexpr int kTargetOutputs = 1024;                // outputs per (image, tile) the tiling aims for
constexpr int kMaxTileW = 64;                       // tiles are at most this wide (then balanced)
constexpr int kSmemVec = 4;                         // forward weights: rounded to 4 elements (16-byte multiple)
constexpr int64_t kSmemLimit = 48 * 1024;           // no opt-in to larger dynamic shared memory
constexpr int64_t kWorkspaceBudget = 32ll << 20;    // bytes of fp32 partial weight gradients per call
constexpr int64_t kBackwardCtas = 16384;            // backward grids larger than this merge items per CTA
constexpr int kReduceCols = 32;                     // weights per CTA of the dW reduction
constexpr int kReduceTargetCtas = 528;              // 4 CTAs per SM of a 132-SM H100
constexpr int64_t kReduceOnePass = 128;             // up to this many partial rows: one reduction pass

// One group as the kernels see it; `source` is its index in the op's weight list.
struct GroupArgs {
  int c_begin, channels, k, pad_top, pad_left, source;
  int64_t w_offset;  // of its weights in the packed dW [w_total]
};

// Kernel parameters of one launch. Groups are sorted by descending k (heavy CTAs first); block
// item_begin[g] is the first CTA of group g. A CTA owns channels [c0, c0 + cb) of one group and
// `items_per_cta` consecutive items of t = (n * tiles_y + ty) * tiles_x + tx, i.e. "chunk" t / items_per_cta.
struct LaunchArgs {
  GroupArgs groups[kMaxGroups];
  int64_t item_begin[kMaxGroups + 1];
  int num_groups, n, c, h, w, h_out, w_out, stride;
  int tile_h, tile_w, cb, tiles_y, tiles_x;
  int strip;  // forward outputs per thread along W: kStrip, or kWideStrip (2-byte staging, see make_launch)
  int64_t items, items_per_cta, chunks;  // items = n * tiles_y * tiles_x; chunks = ceil(items / items_per_cta)
  int64_t w_total;
};

// One kernel launch: grid (blocks_x, blocks_y), threads per CTA, dynamic shared memory bytes.
struct Launch {
  int64_t blocks_x = 0, blocks_y = 1;
  int threads = kThreads;
  int64_t smem_bytes = 0;
  int64_t ctas() const { return blocks_x * blocks_y; }
};

struct ForwardPlan {
  LaunchArgs args;
  Launch conv;
  int64_t useful_outputs, computed_outputs;  // outputs of the op; outputs the threads compute
};

// Backward: `conv` writes dX and one fp32 (fp64) partial dW row per chunk ([chunks, w_total] at the
// workspace start); `reduce` sums blocks of `reduce_rows` rows of it, into dW when `reduce2` is empty,
// else into [reduce.blocks_y, w_total] after the partials, which `reduce2` sums into dW.
struct BackwardPlan {
  LaunchArgs args;
  Launch conv, reduce, reduce2;
  int64_t reduce_rows, workspace_bytes, useful_outputs, computed_outputs;
  int64_t partial2_offset;  // bytes
};

constexpr int64_t kMaxIndex = (int64_t(1) << 31) - 1;  // 32-bit sizes, grid.x limit
constexpr int64_t kMaxGridY = 65535;

// Why the CUDA kernels cannot run this call, or "" when they can (sizes of 0 are taken: nothing runs).
inline std::string unsupported(const MixPlan& plan) {
  if (plan.groups.size() > static_cast<size_t>(kMaxGroups))
    return "at most " + std::to_string(kMaxGroups) + " groups, got " + std::to_string(plan.groups.size());
  if (plan.stride != 1 && plan.stride != 2) return "stride must be 1 or 2, got " + std::to_string(plan.stride);
  if (plan.dilation != 1) return "dilation must be 1, got " + std::to_string(plan.dilation);
  for (const MixGroup& g : plan.groups)
    if (g.k > kMaxKernel) return "kernel sizes 1, 3, 5, 7, 9 and 11 are compiled, got " + std::to_string(g.k);
  const char* names[] = {"N", "C", "H", "W"};
  const int64_t sizes[] = {plan.n, plan.c, plan.h, plan.w};
  for (int i = 0; i < 4; ++i)
    if (sizes[i] < 0 || sizes[i] > kMaxIndex)
      return std::string(names[i]) + "=" + std::to_string(sizes[i]) + " is outside [0, 2^31 - 1]";
  // h * w < 2^62 and c * (h * w) < 2^93 would overflow: compare in two steps.
  if (plan.h * plan.w > kMaxIndex || plan.c * (plan.h * plan.w) > kMaxIndex)
    return "one image of " + std::to_string(plan.c) + "x" + std::to_string(plan.h) + "x" + std::to_string(plan.w) +
           " is too large for 32-bit channel/pixel indexing";
  return "";
}

// Whether the call has no work (N, C, H or W of 0): no kernel is launched.
inline bool empty_call(const MixPlan& plan) { return plan.n == 0 || plan.c == 0 || plan.h == 0 || plan.w == 0; }

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
MIXDET_HOST_DEVICE constexpr int round_up(int v, int m) { return (v + m - 1) / m * m; }

// Taps kw of a k-wide kernel row at stride s that read column phase p (kw % s == p).
MIXDET_HOST_DEVICE constexpr int phase_taps(int k, int s, int p) { return p < k ? (k - 1 - p) / s + 1 : 0; }

// Elements of `stage` bytes in 16 bytes (at least kSmemVec): a forward tile row's alignment unit.
MIXDET_HOST_DEVICE constexpr int tile_vec(int stage) { return 16 / stage > kSmemVec ? 16 / stage : kSmemVec; }

// Shared-memory layout (in elements of the staging type: the input's for 2-byte types, else the accumulation
// type) of one channel of a forward k x k, stride-s item whose threads compute strips of `strip` outputs:
// in_h input rows, each stored as s column phases (phase p: columns p, p + s, ...) of `pitch` elements. A
// thread's window of a phase is then contiguous and 16-byte aligned: it is read with vector loads that
// consecutive threads take from consecutive 16-byte words (no bank conflicts).
struct ForwardTile {
  int in_h, pitch, channel;  // rows, phase-row pitch (a multiple of vec), elements per channel
  MIXDET_HOST_DEVICE ForwardTile(int tile_h, int tile_w, int k, int s, int strip, int vec)
      : in_h((tile_h - 1) * s + k),
        pitch(round_up(round_up(tile_w, strip) - strip + round_up(strip - 1 + phase_taps(k, s, 0), vec), vec)),
        channel(in_h * s * pitch) {}
};

// Outputs per thread along W of the backward's dW at stride s (shorter at stride 2: the x window stays small).
MIXDET_HOST_DEVICE constexpr int dw_strip(int s) { return kDwStrip / s; }

// dy rows/cols covering every output that touches the item's input rows, and the x rows/cols under the item's
// outputs; the widths leave room for the windows of the last dX strip (kDxStrip pixels, whose first column is
// a multiple of kDxStrip: up to kDxStrip - 1 pixels past the tile) and of the last dW strip of a row.
struct BackwardTile {
  int dy_h, dy_w, x_h, x_w;
  MIXDET_HOST_DEVICE BackwardTile(int tile_h, int tile_w, int k, int s)
      : dy_h(tile_h + (k + s - 2) / s + 1), dy_w(tile_w + (k + s - 2) / s + 1 + (kDxStrip - 2) / s),
        x_h((tile_h - 1) * s + k), x_w((tile_w + dw_strip(s) - 2) * s + k) {}
  int64_t per_channel(int k) const { return int64_t(k) * k + int64_t(dy_h) * dy_w + int64_t(x_h) * x_w; }
};

// Scratch of the backward's cross-warp dW reduction: per thread slot, k values (threads / 32 warps).
inline int64_t backward_scratch(int k) { return int64_t(kThreads / 32) * k; }

// Dynamic shared memory of a CTA of cb channels, for the largest kernel of the call. Forward: the weights
// (`elem`-byte accumulation type, rounded up to kSmemVec elements), then the input tiles (`stage`-byte
// elements); backward (all `elem` bytes): weights, dy tiles, x tiles, scratch.
inline int64_t smem_bytes_of(bool backward, int cb, int tile_h, int tile_w, int k_max, int s, int64_t elem,
                             int64_t stage, int strip) {
  if (!backward)
    return elem * round_up(cb * k_max * k_max, kSmemVec) +
           stage * cb * ForwardTile(tile_h, tile_w, k_max, s, strip, tile_vec(static_cast<int>(stage))).channel;
  return elem * (cb * BackwardTile(tile_h, tile_w, k_max, s).per_channel(k_max) + backward_scratch(k_max));
}

// Tiles, channels per CTA and the item ranges of the groups. Tile widths are balanced: a w_out-wide
// plane is cut into ceil(w_out / 64) tiles of equal width (rounded up to the forward strip), and the
// heights likewise, so no tile computes far beyond the plane. `stage`: bytes of the forward's staged input
// element (0: elem); 2-byte staging takes strips of kWideStrip outputs where the plane and the tiles are whole
// 8-wide strips (so no output is computed beyond what strips of kStrip compute).
inline LaunchArgs make_launch(const MixPlan& plan, bool backward, int64_t elem, int64_t budget = kWorkspaceBudget,
                              int64_t stage = 0) {
  if (stage == 0) stage = elem;
  const std::string why = unsupported(plan);
  if (!why.empty()) throw std::invalid_argument("mixconv2d (CUDA): " + why);
  if (empty_call(plan)) throw std::invalid_argument("mixconv2d (CUDA): no launch plan for an empty call");
  LaunchArgs a{};
  a.num_groups = static_cast<int>(plan.groups.size());
  a.n = static_cast<int>(plan.n), a.c = static_cast<int>(plan.c), a.h = static_cast<int>(plan.h);
  a.w = static_cast<int>(plan.w), a.h_out = static_cast<int>(plan.h_out), a.w_out = static_cast<int>(plan.w_out);
  a.stride = static_cast<int>(plan.stride);
  int k_max = 1, c_max = 1, order[kMaxGroups];
  for (int g = 0; g < a.num_groups; ++g) {
    k_max = std::max<int>(k_max, plan.groups[g].k);
    c_max = std::max<int>(c_max, plan.groups[g].channels);
    order[g] = g;
  }
  std::stable_sort(order, order + a.num_groups, [&](int l, int r) { return plan.groups[l].k > plan.groups[r].k; });
  const int s = a.stride;
  a.tiles_x = static_cast<int>(ceil_div(a.w_out, kMaxTileW));
  a.tile_w = std::min(a.w_out, round_up(static_cast<int>(ceil_div(a.w_out, a.tiles_x)), kStrip));
  a.strip = !backward && stage == 2 && a.w_out % kWideStrip == 0 && a.tile_w % kWideStrip == 0 ? kWideStrip : kStrip;
  int tile_h_max = std::min(a.h_out, std::max(1, kTargetOutputs / a.tile_w));
  while (tile_h_max > 1 && smem_bytes_of(backward, 1, tile_h_max, a.tile_w, k_max, s, elem, stage, a.strip) > kSmemLimit) --tile_h_max;
  if (smem_bytes_of(backward, 1, tile_h_max, a.tile_w, k_max, s, elem, stage, a.strip) > kSmemLimit)
    throw std::invalid_argument("mixconv2d (CUDA): a tile row does not fit in shared memory");
  a.tiles_y = static_cast<int>(ceil_div(a.h_out, tile_h_max));
  a.tile_h = static_cast<int>(ceil_div(a.h_out, a.tiles_y));
  a.cb = std::min(std::max(1, kTargetOutputs / (a.tile_h * a.tile_w)), c_max);
  if (backward) a.cb = std::min(a.cb, kThreads / k_max);  // one thread or more per (channel, kernel row)
  while (a.cb > 1 && smem_bytes_of(backward, a.cb, a.tile_h, a.tile_w, k_max, s, elem, stage, a.strip) > kSmemLimit) --a.cb;
  a.items = plan.n * a.tiles_y * a.tiles_x;
  a.chunks = a.items;
  if (backward) {  // one partial dW row per chunk: within the workspace budget, and about kBackwardCtas CTAs
    const int64_t row_bytes = packed_size(plan) * elem;
    int64_t ctas_per_chunk = 0;
    for (const MixGroup& g : plan.groups) ctas_per_chunk += ceil_div(g.channels, a.cb);
    a.chunks = std::min({a.items, std::max<int64_t>(1, budget / row_bytes),
                         std::max<int64_t>(1, kBackwardCtas / ctas_per_chunk)});
  }
  a.items_per_cta = ceil_div(a.items, a.chunks);
  a.chunks = ceil_div(a.items, a.items_per_cta);
  int64_t block = 0;
  for (int j = 0; j < a.num_groups; ++j) {
    const MixGroup& src = plan.groups[order[j]];
    a.groups[j] = {static_cast<int>(src.c_begin), static_cast<int>(src.channels), static_cast<int>(src.k),
                   static_cast<int>(src.pad_top), static_cast<int>(src.pad_left), order[j], src.w_offset};
    a.item_begin[j] = block;
    block += ceil_div(src.channels, a.cb) * a.chunks;
  }
  a.item_begin[a.num_groups] = block;
  if (block > kMaxIndex)
    throw std::invalid_argument("mixconv2d (CUDA): " + std::to_string(block) + " CTAs of the " +
                                (backward ? "backward" : "forward") + " exceed the grid limit 2^31 - 1");
  a.w_total = packed_size(plan);
  return a;
}

inline int k_max_of(const LaunchArgs& a) {
  int k = 1;
  for (int g = 0; g < a.num_groups; ++g) k = std::max(k, a.groups[g].k);
  return k;
}

// `elem`: bytes of the accumulation type; `stage`: of the staged input element (2 for fp16/bf16; 0: elem).
inline ForwardPlan plan_forward(const MixPlan& plan, int64_t elem, int64_t stage = 0) {
  ForwardPlan p;
  p.args = make_launch(plan, false, elem, kWorkspaceBudget, stage);
  const LaunchArgs& a = p.args;
  p.conv.blocks_x = a.item_begin[a.num_groups];
  p.conv.smem_bytes = smem_bytes_of(false, a.cb, a.tile_h, a.tile_w, k_max_of(a), a.stride, elem,
                                    stage == 0 ? elem : stage, a.strip);
  // Threads compute whole strips: a tile's columns rounded up to the strip, its rows clipped to the plane.
  int64_t cols = 0;
  for (int tx = 0; tx < a.tiles_x; ++tx) cols += round_up(std::min(a.tile_w, a.w_out - tx * a.tile_w), a.strip);
  p.useful_outputs = plan.n * plan.c * plan.h_out * plan.w_out;
  p.computed_outputs = plan.n * plan.c * plan.h_out * cols;
  return p;
}

// `budget`: bytes the fp32 (fp64) partial weight gradients may take (tests lower it to get many items per CTA).
inline BackwardPlan plan_backward(const MixPlan& plan, int64_t elem, bool need_dw, int64_t budget = kWorkspaceBudget) {
  BackwardPlan p;
  p.args = make_launch(plan, true, elem, budget);
  const LaunchArgs& a = p.args;
  p.conv.blocks_x = a.item_begin[a.num_groups];
  p.conv.smem_bytes = smem_bytes_of(true, a.cb, a.tile_h, a.tile_w, k_max_of(a), a.stride, elem, elem, a.strip);
  p.useful_outputs = p.computed_outputs = plan.n * plan.c * plan.h * plan.w;  // dX, clipped to the plane
  p.reduce_rows = a.chunks;
  p.workspace_bytes = p.partial2_offset = 0;
  if (!need_dw) return p;
  // Reduction: CTAs of kReduceCols weights x a block of rows; a second pass when there are several blocks.
  // Many rows and few weights: about sqrt(rows) blocks of about sqrt(rows) rows, so that neither pass sums
  // long columns and the first one has enough CTAs.
  const int64_t col_blocks = ceil_div(a.w_total, kReduceCols);
  if (col_blocks > kMaxIndex)
    throw std::invalid_argument("mixconv2d (CUDA): " + std::to_string(a.w_total) +
                                " weights exceed the grid limit of the dW reduction");
  const auto sqrt_rows = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(a.chunks))));
  const int64_t row_blocks =
      a.chunks <= kReduceOnePass ? 1 : std::min(sqrt_rows, ceil_div(kReduceTargetCtas, col_blocks));
  p.reduce_rows = ceil_div(a.chunks, row_blocks);
  p.reduce.blocks_x = col_blocks;
  p.reduce.blocks_y = ceil_div(a.chunks, p.reduce_rows);
  p.reduce.smem_bytes = p.reduce2.smem_bytes = kThreads * elem;
  const int64_t partial = a.chunks * a.w_total * elem;
  p.partial2_offset = (partial + 255) / 256 * 256;
  p.workspace_bytes = partial;
  if (p.reduce.blocks_y > 1) {
    p.reduce2.blocks_x = col_blocks;
    p.workspace_bytes = p.partial2_offset + p.reduce.blocks_y * a.w_total * elem;
  }
  return p;
}

inline std::string json_launch(const Launch& l) {
  return "{\"grid\": [" + std::to_string(l.blocks_x) + ", " + std::to_string(l.blocks_y) + "], \"ctas\": " +
         std::to_string(l.ctas()) + ", \"threads\": " + std::to_string(l.threads) + ", \"smem_bytes\": " +
         std::to_string(l.smem_bytes) + "}";
}

inline std::string json_tiling(const LaunchArgs& a) {
  std::string groups;
  for (int g = 0; g < a.num_groups; ++g)
    groups += std::string(g ? ", " : "") + "{\"source\": " + std::to_string(a.groups[g].source) +
              ", \"k\": " + std::to_string(a.groups[g].k) + ", \"c_begin\": " + std::to_string(a.groups[g].c_begin) +
              ", \"channels\": " + std::to_string(a.groups[g].channels) + ", \"first_cta\": " +
              std::to_string(a.item_begin[g]) + "}";
  return "\"tile\": [" + std::to_string(a.tile_h) + ", " + std::to_string(a.tile_w) + "], \"tiles\": [" +
         std::to_string(a.tiles_y) + ", " + std::to_string(a.tiles_x) + "], \"channels_per_cta\": " +
         std::to_string(a.cb) + ", \"strip\": " + std::to_string(a.strip) + ", \"items_per_cta\": " + std::to_string(a.items_per_cta) + ", \"groups\": [" +
         groups + "]";
}

// The plans of a call as JSON: grids, CTAs, threads and shared memory of each kernel, tiling, useful
// and computed outputs, workspace bytes; {"supported": false, "reason": ...} when the kernels do not
// take the call. `elem`: bytes of the accumulation type (4, or 8 for float64); `stage`: of the forward's
// staged input element (2 for float16/bfloat16; 0: elem). An empty call (a size of 0) has no kernels:
// {"supported": true, "empty": true, ...}.
inline std::string describe_plans(const MixPlan& plan, int64_t elem, int64_t stage = 0) {
  const std::string why = unsupported(plan);
  if (!why.empty()) return "{\"supported\": false, \"reason\": \"" + why + "\"}";
  if (empty_call(plan))
    return "{\"supported\": true, \"empty\": true, \"forward\": {\"kernels\": {}, \"workspace_bytes\": 0}, "
           "\"backward\": {\"kernels\": {}, \"workspace_bytes\": 0}}";
  ForwardPlan f;
  BackwardPlan b;
  try {
    f = plan_forward(plan, elem, stage);
    b = plan_backward(plan, elem, true);
  } catch (const std::invalid_argument& e) {  // beyond a launch limit
    return "{\"supported\": false, \"reason\": \"" + std::string(e.what()) + "\"}";
  }
  // Longest run of dependent additions of one thread in the dW reduction (rows per thread + 8 partial sums).
  const int64_t ny = kThreads / kReduceCols;
  int64_t serial = ceil_div(b.reduce_rows, ny) + ny;
  if (b.reduce2.blocks_x > 0) serial += ceil_div(b.reduce.blocks_y, ny) + ny;
  std::string reduce = "\"reduce_rows_kernel\": " + json_launch(b.reduce);
  if (b.reduce2.blocks_x > 0) reduce += ", \"reduce_rows_kernel (second pass)\": " + json_launch(b.reduce2);
  return "{\"supported\": true, \"forward\": {" + json_tiling(f.args) + ", \"kernels\": {\"mixconv_forward_kernel\": " +
         json_launch(f.conv) + "}, \"useful_outputs\": " + std::to_string(f.useful_outputs) +
         ", \"computed_outputs\": " + std::to_string(f.computed_outputs) + ", \"workspace_bytes\": 0}, " +
         "\"backward\": {" + json_tiling(b.args) + ", \"kernels\": {\"mixconv_backward_kernel\": " +
         json_launch(b.conv) + ", " + reduce + "}, \"partial_rows\": " + std::to_string(b.args.chunks) +
         ", \"reduce_rows_per_cta\": " + std::to_string(b.reduce_rows) + ", \"reduce_serial_sums\": " +
         std::to_string(serial) + ", \"useful_outputs\": " + std::to_string(b.useful_outputs) +
         ", \"computed_outputs\": " + std::to_string(b.computed_outputs) + ", \"workspace_bytes\": " +
         std::to_string(b.workspace_bytes) + "}}";
}

}  // namespace cuda
}  // namespace mixdet
