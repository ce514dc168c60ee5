// Device code of the CUDA MixConv kernels (NCHW, contiguous) and the host sequences that launch them.
//
// nvcc compiles this header for GPUs (mixconv_kernel.cu); the tests compile it with g++ against an
// emulation of the CUDA execution model (tests/test_ops/cuda_emulation), which defines the CUDA
// built-ins (threadIdx, __syncthreads, __shfl_down_sync, ...) and MIXDET_DYNAMIC_SMEM first. The launch
// planning (tiles, grids, shared memory, workspace) is mixconv_launch.h, shared by both builds.
//
// One launch per pass covers every group; CTAs of the largest kernels come first. A CTA owns a block
// of up to `cb` channels of one group and one (forward) or several consecutive (backward) items, an
// item being an image and an output tile. It stages the input tile with its (k - 1) halo in shared
// memory, writing the padding as zeros, then `switch (k)` enters code templated on the kernel size
// and the stride so every tap loop unrolls. Accumulation is fp32 (fp64 for double).
//   forward:  each thread computes a strip of kStrip outputs from a register window of the tile, read
//             with 16-byte vector loads from rows stored by column phase (no bank conflicts).
//   backward: per item, dX for the input pixels the output tile owns (rows [oy0*S, (oy0+tile_h)*S)),
//             gathered per stride phase; each thread accumulates the dW taps of one (channel, kernel
//             row) over a slice of the outputs of all the CTA's items, and the CTA writes one partial
//             dW row per chunk of items. reduce_rows_kernel sums the rows in a fixed order (one or two
//             passes), so dW is deterministic.
#pragma once

#include <cstdint>
#include <type_traits>

#include "mixconv_launch.h"

#if defined(__CUDACC__)
// `name`: the CTA's dynamic shared memory, 16-byte aligned.
#define MIXDET_DYNAMIC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
#elif !defined(MIXDET_CUDA_EMULATION)
#error "mixconv_kernels.cuh needs nvcc or an emulation of the CUDA built-ins (MIXDET_CUDA_EMULATION)"
#endif

namespace mixdet {
namespace cuda {

// The element type a forward tile is staged in: 2-byte inputs as they are (exact; half the shared memory and
// twice the elements per 16-byte load), others in the accumulation type.
template <typename scalar_t, typename acc_t>
using stage_type = std::conditional_t<sizeof(scalar_t) == 2, scalar_t, acc_t>;

// Weight pointers of the groups in the kernels' (sorted) group order; group j is [channels, 1, k, k].
template <typename scalar_t>
struct GroupWeights {
  const scalar_t* w[kMaxGroups];
};

// w.w[g], selected with compile-time indices: indexing the kernel parameter with a run-time g makes nvcc copy
// the array into a local-memory stack frame.
template <typename scalar_t>
__device__ __forceinline__ const scalar_t* group_weights_of(const GroupWeights<scalar_t>& w, int g) {
  const scalar_t* p = w.w[0];
#pragma unroll
  for (int j = 1; j < kMaxGroups; ++j)
    if (g == j) p = w.w[j];
  return p;
}

// Resident CTAs per SM the conv kernels are compiled for: 3 caps registers at 65536 / (3 * 256) -> 80 per
// thread; float64 (gradcheck, not training) gets 2, as 80 registers make it spill.
template <typename acc_t>
constexpr int kMinCtasPerSm = sizeof(acc_t) == 8 ? 2 : 3;

__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int floor_div(int a, int b) { return (a >= 0 ? a : a - b + 1) / b; }

// A CTA's work: channels [c0, c0 + nc) of group g and items [t0, t1), which form chunk `chunk`.
struct Work {
  int g, c0, nc;
  int64_t chunk, t0, t1;
};

__device__ __forceinline__ Work locate(const LaunchArgs& a, int64_t block) {
  int g = 0;
  while (g + 1 < a.num_groups && block >= a.item_begin[g + 1]) ++g;
  const GroupArgs& grp = a.groups[g];
  const int64_t local = block - a.item_begin[g];
  const int64_t chunk = local % a.chunks;
  const int c0 = grp.c_begin + static_cast<int>(local / a.chunks) * a.cb;
  const int64_t t0 = chunk * a.items_per_cta;
  return {g, c0, imin(a.cb, grp.c_begin + grp.channels - c0), chunk, t0,
          t0 + a.items_per_cta < a.items ? t0 + a.items_per_cta : a.items};
}

// Item t: image n and the output tile at (oy0, ox0), of which vh x vw outputs lie inside the output.
struct Item {
  int n, oy0, ox0, vh, vw;
};

__device__ __forceinline__ Item item_at(const LaunchArgs& a, int64_t t) {
  const int64_t tiles = static_cast<int64_t>(a.tiles_y) * a.tiles_x;
  const int n = static_cast<int>(t / tiles), r = static_cast<int>(t - n * tiles);
  const int ty = r / a.tiles_x, oy0 = ty * a.tile_h, ox0 = (r - ty * a.tiles_x) * a.tile_w;
  return {n, oy0, ox0, imin(a.tile_h, a.h_out - oy0), imin(a.tile_w, a.w_out - ox0)};
}

// s_w[cl][K*K] <- the weights of the nc channels starting at `src`.
template <int K, typename scalar_t, typename acc_t>
__device__ __forceinline__ void load_weights(const scalar_t* src, int nc, acc_t* s_w) {
  for (int i = threadIdx.x; i < nc * K * K; i += blockDim.x) s_w[i] = static_cast<acc_t>(src[i]);
}

// Global loads a thread issues before it stores their values to shared memory (loads in flight), and elements
// per load (2-byte types: 2). The forward has registers to spare; the backward keeps its dW accumulators live
// across the loads and stays within 80 registers only with 2 loads of one element (measured with
// tools/misc/cuda_resources.py: packed loads there spill).
constexpr int kForwardLoadBatch = 4, kBackwardLoadBatch = 2;
template <typename scalar_t>
constexpr int kForwardPack = sizeof(scalar_t) == 2 ? 2 : 1;

// kPack consecutive elements of global memory, read with one load (2-byte types: two per 32-bit load).
template <typename scalar_t, int kPack>
struct alignas(sizeof(scalar_t) * kPack) Packed {
  scalar_t v[kPack];
};

// planes[cl][r0 + row][q0 + col] (zero outside the h x w plane) for cl < nc, row < rows, col < cols, into
// dst[cl * chan + (row * PHASES + col % PHASES) * pitch + col / PHASES]: each row as PHASES column phases.
// Plane cl starts at src + cl * plane. A row is read in units of kPack elements aligned in global memory (a
// unit at the row's ends or the plane's edges falls back to element loads), units of a row go to `lanes`
// consecutive threads (the power of two >= the row's units, at most 32), one division per row; each thread
// issues up to BATCH loads before it stores their values.
template <int PHASES, int BATCH, int PACK, typename scalar_t, typename dst_t>
__device__ __forceinline__ void load_rows(const scalar_t* src, int64_t plane, int nc, int h, int w, int r0, int q0,
                                          int rows, int cols, int pitch, int chan, dst_t* dst) {
  constexpr int kPack = PACK;
  int lanes = 1;
  while (lanes < (cols + kPack - 1) / kPack + (kPack > 1) && lanes < 32) lanes <<= 1;
  const int lane = threadIdx.x & (lanes - 1), step = blockDim.x / lanes, total = nc * rows;
  int rr = threadIdx.x / lanes, u = lane;
  // The current row: its plane row r, first destination, source row, misalignment of column q0, units.
  int r = 0, units = 0, mis = 0, d0 = 0;
  const scalar_t* s = src;
  // Misalignment (in elements) of src itself; reading the address of each row would make nvcc lose track of
  // the loads' state space (generic LD instead of LDG).
  const int src_mis = static_cast<int>(reinterpret_cast<uintptr_t>(src) / sizeof(scalar_t) % kPack);
  auto settle = [&]() {  // from row rr on, the first row that has unit u; rr = total when none
    for (; rr < total; rr += step) {
      const int cl = rr / rows, row = rr - cl * rows;
      r = r0 + row;
      d0 = cl * chan + row * PHASES * pitch;
      s = src + cl * plane + static_cast<int64_t>(r >= 0 && r < h ? r : 0) * w;
      mis = static_cast<int>((src_mis + (cl * plane + static_cast<int64_t>(r >= 0 && r < h ? r : 0) * w + q0) %
                              kPack + kPack) % kPack);
      units = (cols + mis + kPack - 1) / kPack;
      if (u < units) return;
    }
  };
  settle();
  while (rr < total) {
    dst_t v[BATCH][kPack];
    int first[BATCH], at[BATCH];  // q of a unit's first element (may be -1), its row's destination
#pragma unroll
    for (int b = 0; b < BATCH; ++b) {
      at[b] = -1;
      if (rr < total) {
        const int q = u * kPack - mis, col = q0 + q;
        const bool row_inside = r >= 0 && r < h;
        if (row_inside && col >= 0 && col + kPack <= w) {
          const Packed<scalar_t, kPack> p = *reinterpret_cast<const Packed<scalar_t, kPack>*>(s + col);
#pragma unroll
          for (int e = 0; e < kPack; ++e) v[b][e] = static_cast<dst_t>(p.v[e]);
        } else {
#pragma unroll
          for (int e = 0; e < kPack; ++e)
            v[b][e] = row_inside && col + e >= 0 && col + e < w ? static_cast<dst_t>(s[col + e]) : dst_t(0.0f);
        }
        first[b] = q;
        at[b] = d0;
        u += lanes;
        if (u >= units) {
          u = lane;
          rr += step;
          settle();
        }
      }
    }
#pragma unroll
    for (int b = 0; b < BATCH; ++b) {
      if (at[b] < 0) continue;
#pragma unroll
      for (int e = 0; e < kPack; ++e) {
        const int q = first[b] + e;
        if (q >= 0 && q < cols) dst[at[b] + q % PHASES * pitch + q / PHASES] = v[b][e];
      }
    }
  }
}

// BYTES (8 or 16) of shared memory as one vector load.
template <typename T, int BYTES>
struct alignas(BYTES) Vec {
  T v[BYTES / sizeof(T)];
};

// Bytes of the forward's window loads: a strip's window starts R elements after the previous one, so it is
// R * sizeof(stage_t)-aligned (at most 16 bytes are loaded at once).
template <int R, typename stage_t>
constexpr int kWindowVecBytes = R * sizeof(stage_t) < 16 ? R * sizeof(stage_t) : 16;

// win[0, R - 1 + taps) <- the window of column phase P that a strip of R outputs reads in one input row of
// the staged tile, in vectors of kWindowVecBytes (fp32: 4 floats; fp16/bf16: 8 elements in strips of 8, 4 in
// strips of 4), converted to the accumulation type.
template <int K, int S, int P, int R, typename stage_t, typename acc_t>
__device__ __forceinline__ void load_window(const stage_t* row, acc_t* win) {
  constexpr int kBytes = kWindowVecBytes<R, stage_t>, kPerVec = kBytes / sizeof(stage_t);
  constexpr int kVectors = (R - 1 + phase_taps(K, S, P) + kPerVec - 1) / kPerVec;
  const Vec<stage_t, kBytes>* v = reinterpret_cast<const Vec<stage_t, kBytes>*>(row);
#pragma unroll
  for (int i = 0; i < kVectors; ++i) {
    const Vec<stage_t, kBytes> q = v[i];
#pragma unroll
    for (int e = 0; e < kPerVec; ++e) win[i * kPerVec + e] = static_cast<acc_t>(q.v[e]);
  }
}

// One forward item: threads compute strips of R outputs of a row (R = kStrip, or kWideStrip for 2-byte
// inputs where the plan says so).
template <int K, int S, int R, typename scalar_t, typename acc_t>
__device__ __forceinline__ void forward_item(const LaunchArgs& a, const Work& wk, const Item& it, const scalar_t* x,
                                             const scalar_t* wg, scalar_t* y, acc_t* smem) {
  using stage_t = stage_type<scalar_t, acc_t>;
  const GroupArgs& grp = a.groups[wk.g];
  const ForwardTile t(a.tile_h, a.tile_w, K, S, R, tile_vec(sizeof(stage_t)));
  const int strips = (it.vw + R - 1) / R;
  acc_t* s_w = smem;
  stage_t* s_in = reinterpret_cast<stage_t*>(smem + round_up(a.cb * K * K, kSmemVec));
  load_weights<K>(wg + static_cast<int64_t>(wk.c0 - grp.c_begin) * K * K, wk.nc, s_w);
  load_rows<S, kForwardLoadBatch, kForwardPack<scalar_t>>(
      x + (static_cast<int64_t>(it.n) * a.c + wk.c0) * a.h * a.w, static_cast<int64_t>(a.h) * a.w, wk.nc, a.h, a.w,
      it.oy0 * S - grp.pad_top, it.ox0 * S - grp.pad_left, (it.vh - 1) * S + K, (strips * R - 1) * S + K, t.pitch,
      t.channel, s_in);
  __syncthreads();
  // Output column sx + r, tap kw reads input column S * (sx + r) + kw: phase kw % S, element sx + r + kw / S.
  constexpr int kWindow = round_up(R - 1 + phase_taps(K, S, 0), kWindowVecBytes<R, stage_t> / sizeof(stage_t));
  const int per_channel = it.vh * strips;
  for (int i = threadIdx.x; i < wk.nc * per_channel; i += blockDim.x) {
    const int cl = i / per_channel, rem = i - cl * per_channel, ty = rem / strips, sx = (rem - ty * strips) * R;
    const acc_t* wc = s_w + cl * K * K;
    const stage_t* src = s_in + cl * t.channel + ty * S * S * t.pitch + sx;
    acc_t acc[R] = {};
#pragma unroll
    for (int kh = 0; kh < K; ++kh) {
      acc_t win[S][kWindow];
      load_window<K, S, 0, R>(src + kh * S * t.pitch, win[0]);
      if constexpr (S == 2) load_window<K, S, 1, R>(src + (kh * S + 1) * t.pitch, win[S - 1]);
#pragma unroll
      for (int kw = 0; kw < K; ++kw) {
        const acc_t wv = wc[kh * K + kw];
#pragma unroll
        for (int r = 0; r < R; ++r) acc[r] += wv * win[kw % S][r + kw / S];
      }
    }
    scalar_t* dst = y + (static_cast<int64_t>(it.n) * a.c + wk.c0 + cl) * a.h_out * a.w_out +
                    static_cast<int64_t>(it.oy0 + ty) * a.w_out + it.ox0 + sx;
#pragma unroll
    for (int r = 0; r < R; ++r)
      if (sx + r < it.vw) dst[r] = static_cast<scalar_t>(acc[r]);
  }
}

// dX of kDxStrip pixels of one input row and channel: sum over the taps (kh, kw) that reach pixel iw of
// w[kh][kw] * dy[(ih + pad_top - kh) / S][(iw + pad_left - kw) / S]. Taps of one kernel row read a window of
// one dy row: pixel q, tap kw reads window element (PH + K - 1 + q - kw) / S when that is a whole number (PH:
// the dy tile's first column phase). `row_at_ph`: the dy tile row of the tap row kh = ph (ph = (ih + pad_top)
// % S); `col0`: the window's first column in the tile. Per tap row: kWin + K shared loads for K * kDxStrip / S
// FMAs (before: two per FMA).
template <int K, int S, int PH, typename acc_t>
__device__ __forceinline__ void dx_strip(const acc_t* wc, const acc_t* d, int dy_w, int ph, int row_at_ph, int col0,
                                         acc_t (&sum)[kDxStrip]) {
  constexpr int kWin = (PH + K - 1 + kDxStrip - 1) / S + 1;
#pragma unroll
  for (int jh = 0; jh < (K + S - 1) / S; ++jh) {
    const int kh = ph + S * jh;
    if (kh >= K) continue;  // stride 2, odd phase: one tap row fewer
    const acc_t* dr = d + (row_at_ph - jh) * dy_w + col0;
    acc_t win[kWin];
#pragma unroll
    for (int m = 0; m < kWin; ++m) win[m] = dr[m];
#pragma unroll
    for (int kw = 0; kw < K; ++kw) {
      const acc_t wv = wc[kh * K + kw];
#pragma unroll
      for (int q = 0; q < kDxStrip; ++q)
        if ((PH + K - 1 + q - kw) % S == 0) sum[q] += wv * win[(PH + K - 1 + q - kw) / S];
    }
  }
}

template <int K, int S, typename scalar_t, typename acc_t>
__device__ __forceinline__ void backward_cta(const LaunchArgs& a, const Work& wk, const scalar_t* dy, const scalar_t* x,
                             const scalar_t* wg, scalar_t* dx, acc_t* partial, acc_t* smem) {
  const GroupArgs& grp = a.groups[wk.g];
  const BackwardTile t(a.tile_h, a.tile_w, K, S);
  acc_t* s_w = smem;
  acc_t* s_dy = s_w + a.cb * K * K;
  acc_t* s_x = s_dy + a.cb * t.dy_h * t.dy_w;
  acc_t* s_red = s_x + a.cb * t.x_h * t.x_w;
  if (dx != nullptr) load_weights<K>(wg + static_cast<int64_t>(wk.c0 - grp.c_begin) * K * K, wk.nc, s_w);
  // dW: thread -> (channel, kernel row) pair and one of `lanes` slices of each item's outputs; it keeps
  // the K taps of its row in registers across the items.
  const int pairs = wk.nc * K;
  int lanes = 1;
  while (lanes * 2 * pairs <= static_cast<int>(blockDim.x)) lanes <<= 1;
  const int pair = threadIdx.x / lanes, lane = threadIdx.x & (lanes - 1);
  const bool active = partial != nullptr && pair < pairs;  // pair = cl_w * K + kh_w
  acc_t acc[K] = {};
  const int64_t plane_in = static_cast<int64_t>(a.h) * a.w, plane_out = static_cast<int64_t>(a.h_out) * a.w_out;
  for (int64_t item = wk.t0; item < wk.t1; ++item) {
    const Item it = item_at(a, item);
    // dy rows [dy_r0, dy_r0 + dy_h) cover every output that touches the input rows this item owns.
    const int dy_r0 = floor_div(it.oy0 * S + grp.pad_top - (K - 1), S);
    const int dy_c0 = floor_div(it.ox0 * S + grp.pad_left - (K - 1), S);
    load_rows<1, kBackwardLoadBatch, 1>(dy + (static_cast<int64_t>(it.n) * a.c + wk.c0) * plane_out, plane_out, wk.nc, a.h_out, a.w_out, dy_r0,
              dy_c0, t.dy_h, t.dy_w, t.dy_w, t.dy_h * t.dy_w, s_dy);
    if (partial != nullptr)
      load_rows<1, kBackwardLoadBatch, 1>(x + (static_cast<int64_t>(it.n) * a.c + wk.c0) * plane_in, plane_in, wk.nc, a.h, a.w,
                   it.oy0 * S - grp.pad_top, it.ox0 * S - grp.pad_left, t.x_h, t.x_w, t.x_w, t.x_h * t.x_w, s_x);
    __syncthreads();

    if (dx != nullptr) {
      // Strips of kDxStrip pixels of the input rows [oy0 * S, ...) and columns [ox0 * S, ...) the item owns.
      const int rows = imin(a.tile_h * S, a.h - it.oy0 * S), cols = imin(a.tile_w * S, a.w - it.ox0 * S);
      const int strips = (cols + kDxStrip - 1) / kDxStrip, per_channel = rows * strips;
      const int ph_col = it.ox0 * S + grp.pad_left - (K - 1) - S * dy_c0;  // 0 .. S - 1
      for (int i = threadIdx.x; i < wk.nc * per_channel; i += blockDim.x) {
        const int cl = i / per_channel, rs = i - cl * per_channel, r = rs / strips;
        const int sx = (rs - r * strips) * kDxStrip, ih = it.oy0 * S + r, ph = (ih + grp.pad_top) % S;
        const int row_at_ph = (ih + grp.pad_top - ph) / S - dy_r0;
        const acc_t* wc = s_w + cl * K * K;
        const acc_t* d = s_dy + cl * t.dy_h * t.dy_w;
        acc_t sum[kDxStrip] = {};
        if constexpr (S == 1) {
          dx_strip<K, S, 0>(wc, d, t.dy_w, ph, row_at_ph, sx, sum);
        } else if (ph_col == 0) {
          dx_strip<K, S, 0>(wc, d, t.dy_w, ph, row_at_ph, sx / S, sum);
        } else {
          dx_strip<K, S, 1>(wc, d, t.dy_w, ph, row_at_ph, sx / S, sum);
        }
        scalar_t* dst = dx + (static_cast<int64_t>(it.n) * a.c + wk.c0 + cl) * plane_in +
                        static_cast<int64_t>(ih) * a.w + it.ox0 * S + sx;
#pragma unroll
        for (int q = 0; q < kDxStrip; ++q)
          if (sx + q < cols) dst[q] = static_cast<scalar_t>(sum[q]);
      }
    }

    if (active) {
      // Strips of kStripW outputs of a row: kStripW dy values and a window of x, kWin + kStripW shared loads for
      // K * kStripW FMAs (before: K + 1 loads per K FMAs). Outputs past the tile count as dy = 0.
      const int cl_w = pair / K, kh_w = pair - cl_w * K;  // (kept as `pair` only: fewer live registers)
      constexpr int kStripW = dw_strip(S);
      constexpr int kWin = (kStripW - 1) * S + K;
      const acc_t* d = s_dy + cl_w * t.dy_h * t.dy_w + (it.oy0 - dy_r0) * t.dy_w + it.ox0 - dy_c0;
      const acc_t* xs = s_x + cl_w * t.x_h * t.x_w + kh_w * t.x_w;
      const int strips = (it.vw + kStripW - 1) / kStripW;
      for (int o = lane; o < it.vh * strips; o += lanes) {
        const int ty = o / strips, tx = (o - ty * strips) * kStripW;
        acc_t g[kStripW], xw[kWin];
#pragma unroll
        for (int q = 0; q < kStripW; ++q) g[q] = tx + q < it.vw ? d[ty * t.dy_w + tx + q] : acc_t(0);
        const acc_t* xr = xs + ty * S * t.x_w + tx * S;
#pragma unroll
        for (int m = 0; m < kWin; ++m) xw[m] = xr[m];
#pragma unroll
        for (int kw = 0; kw < K; ++kw)
#pragma unroll
          for (int q = 0; q < kStripW; ++q) acc[kw] += g[q] * xw[q * S + kw];
      }
    }
    __syncthreads();  // the next item's loads overwrite the tiles
  }
  if (partial == nullptr) return;

  // Sum each pair's `lanes` slices: shuffles within a warp, then over the pair's warps in shared memory.
  const int width = lanes < 32 ? lanes : 32;
#pragma unroll
  for (int kw = 0; kw < K; ++kw)
    for (int offset = width / 2; offset > 0; offset >>= 1)
      acc[kw] += __shfl_down_sync(0xffffffffu, acc[kw], offset, width);
  if (lanes > 32) {
    const int warp = threadIdx.x / 32;
    if (active && threadIdx.x % 32 == 0)
#pragma unroll
      for (int kw = 0; kw < K; ++kw) s_red[warp * K + kw] = acc[kw];
    __syncthreads();
    if (active && lane == 0)
#pragma unroll
      for (int kw = 0; kw < K; ++kw) {
        acc_t sum = 0;
        for (int j = 0; j < lanes / 32; ++j) sum += s_red[(warp + j) * K + kw];
        acc[kw] = sum;
      }
  }
  if (active && lane == 0) {
    acc_t* dst = partial + wk.chunk * a.w_total + grp.w_offset + static_cast<int64_t>(wk.c0 - grp.c_begin) * K * K +
                 pair * K;
#pragma unroll
    for (int kw = 0; kw < K; ++kw) dst[kw] = acc[kw];
  }
}

#define MIXDET_SWITCH_K(k, ...)                           \
  switch (k) {                                            \
    case 1: { constexpr int K = 1; __VA_ARGS__; } break;  \
    case 3: { constexpr int K = 3; __VA_ARGS__; } break;  \
    case 5: { constexpr int K = 5; __VA_ARGS__; } break;  \
    case 7: { constexpr int K = 7; __VA_ARGS__; } break;  \
    case 9: { constexpr int K = 9; __VA_ARGS__; } break;  \
    case 11: { constexpr int K = 11; __VA_ARGS__; } break; \
  }

template <int S, typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads, kMinCtasPerSm<acc_t>)
    mixconv_forward_kernel(LaunchArgs a, GroupWeights<scalar_t> w, const scalar_t* __restrict__ x,
                           scalar_t* __restrict__ y) {
  MIXDET_DYNAMIC_SMEM(smem_raw);
  const Work wk = locate(a, blockIdx.x);
  const Item it = item_at(a, wk.t0);
  const scalar_t* wg = group_weights_of(w, wk.g);
  acc_t* smem = reinterpret_cast<acc_t*>(smem_raw);
  if constexpr (sizeof(scalar_t) == 2) {
    if (a.strip == kWideStrip) {
      MIXDET_SWITCH_K(a.groups[wk.g].k, forward_item<K, S, kWideStrip>(a, wk, it, x, wg, y, smem))
      return;
    }
  }
  MIXDET_SWITCH_K(a.groups[wk.g].k, forward_item<K, S, kStrip>(a, wk, it, x, wg, y, smem))
}

template <int S, typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads, kMinCtasPerSm<acc_t>)
    mixconv_backward_kernel(LaunchArgs a, GroupWeights<scalar_t> w, const scalar_t* __restrict__ dy,
                            const scalar_t* __restrict__ x, scalar_t* __restrict__ dx, acc_t* __restrict__ partial) {
  MIXDET_DYNAMIC_SMEM(smem_raw);
  const Work wk = locate(a, blockIdx.x);
  const scalar_t* wg = group_weights_of(w, wk.g);
  MIXDET_SWITCH_K(a.groups[wk.g].k,
                  backward_cta<K, S>(a, wk, dy, x, wg, dx, partial, reinterpret_cast<acc_t*>(smem_raw)))
}

// out[blockIdx.y][c] = sum of in[r][c] over the rows r of row block blockIdx.y ([by * rows_per_cta, ...)
// within [0, rows)), for the kReduceCols columns c of block blockIdx.x. Thread (ry, cx) sums rows
// ry, ry + 8, ...; the 8 sums are added in order: a fixed order, so the result is deterministic.
template <typename in_t, typename out_t>
__global__ void __launch_bounds__(kThreads)
    reduce_rows_kernel(const in_t* __restrict__ in, int64_t rows, int64_t cols, int64_t rows_per_cta,
                       out_t* __restrict__ out) {
  MIXDET_DYNAMIC_SMEM(smem_raw);
  in_t* part = reinterpret_cast<in_t*>(smem_raw);  // [blockDim.x / kReduceCols][kReduceCols]
  const int cx = threadIdx.x % kReduceCols, ry = threadIdx.x / kReduceCols, ny = blockDim.x / kReduceCols;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kReduceCols + cx;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows_per_cta;
  const int64_t r1 = r0 + rows_per_cta < rows ? r0 + rows_per_cta : rows;
  in_t sum = 0;
  if (col < cols)
    for (int64_t r = r0 + ry; r < r1; r += ny) sum += in[r * cols + col];
  part[threadIdx.x] = sum;
  __syncthreads();
  if (ry == 0 && col < cols) {
    in_t total = 0;
    for (int j = 0; j < ny; ++j) total += part[j * kReduceCols + cx];
    out[static_cast<int64_t>(blockIdx.y) * cols + col] = static_cast<out_t>(total);
  }
}

// The weights in the kernels' group order; `weights[g]` is group g of the op's list.
template <typename scalar_t>
GroupWeights<scalar_t> group_weights(const LaunchArgs& a, const scalar_t* const* weights) {
  GroupWeights<scalar_t> w{};
  for (int j = 0; j < a.num_groups; ++j) w.w[j] = weights[a.groups[j].source];
  return w;
}

// Bytes of the forward's staged input element (plan_forward's `stage`).
template <typename scalar_t, typename acc_t>
constexpr int64_t stage_bytes = sizeof(stage_type<scalar_t, acc_t>);

// The launches of one forward pass; `launch(kernel, Launch, args...)` runs a kernel (on the current
// CUDA stream, or in the emulation).
template <typename scalar_t, typename acc_t, typename Launcher>
void run_forward(const ForwardPlan& p, const scalar_t* const* weights, const scalar_t* x, scalar_t* y,
                 Launcher&& launch) {
  const GroupWeights<scalar_t> w = group_weights(p.args, weights);
  if (p.args.stride == 1)
    launch(mixconv_forward_kernel<1, scalar_t, acc_t>, p.conv, p.args, w, x, y);
  else
    launch(mixconv_forward_kernel<2, scalar_t, acc_t>, p.conv, p.args, w, x, y);
}

// The launches of one backward pass. dx == nullptr skips the input gradient, dw == nullptr the weight
// gradient (packed [w_total], groups in the op's order); `workspace` holds p.workspace_bytes.
template <typename scalar_t, typename acc_t, typename Launcher>
void run_backward(const BackwardPlan& p, const scalar_t* const* weights, const scalar_t* dy, const scalar_t* x,
                  scalar_t* dx, scalar_t* dw, void* workspace, Launcher&& launch) {
  const GroupWeights<scalar_t> w = group_weights(p.args, weights);
  acc_t* partial = dw != nullptr ? static_cast<acc_t*>(workspace) : nullptr;
  if (p.args.stride == 1)
    launch(mixconv_backward_kernel<1, scalar_t, acc_t>, p.conv, p.args, w, dy, x, dx, partial);
  else
    launch(mixconv_backward_kernel<2, scalar_t, acc_t>, p.conv, p.args, w, dy, x, dx, partial);
  if (dw == nullptr) return;
  const int64_t rows = p.args.chunks, cols = p.args.w_total;
  if (p.reduce2.blocks_x == 0) {
    launch(reduce_rows_kernel<acc_t, scalar_t>, p.reduce, static_cast<const acc_t*>(partial), rows, cols,
           p.reduce_rows, dw);
    return;
  }
  acc_t* partial2 = reinterpret_cast<acc_t*>(static_cast<unsigned char*>(workspace) + p.partial2_offset);
  launch(reduce_rows_kernel<acc_t, acc_t>, p.reduce, static_cast<const acc_t*>(partial), rows, cols, p.reduce_rows,
         partial2);
  launch(reduce_rows_kernel<acc_t, scalar_t>, p.reduce2, static_cast<const acc_t*>(partial2), p.reduce.blocks_y,
         cols, p.reduce.blocks_y, dw);
}

}  // namespace cuda
}  // namespace mixdet
