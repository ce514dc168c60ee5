// Device code of the CUDA MixConv kernels (NCHW, contiguous) and the host sequence that launches them.
//
// nvcc compiles this header for GPUs (mixconv_kernel.cu); the tests compile it with g++ against an
// emulation of the CUDA execution model (tests/test_ops/cuda_emulation), which defines the CUDA
// built-ins (threadIdx, __syncthreads, __shfl_down_sync, ...) and MIXDET_DYNAMIC_SMEM first.
//
// One launch per pass covers every group. A CTA owns one "item": image n, a block of up to `cb`
// channels of one group and a tile_h x tile_w tile of the output; items of the largest kernels come
// first. The CTA stages its input tile with the (k - 1) halo in shared memory, writing the padding as
// zeros, then `switch (k)` calls code templated on the kernel size and the stride so every tap loop
// unrolls. Accumulation is fp32 (fp64 for double).
//   forward:  each thread computes a strip of kStrip outputs from a register window of the tile.
//   backward: one kernel gathers dX for the input pixels that the item's output tile owns (rows
//             [oy0*S, (oy0+tile_h)*S)) and writes per-item partial weight gradients for all k*k taps;
//             a second kernel sums the partials in a fixed order, so dW is deterministic.
#pragma once

#include <cstdint>

#include "mixconv_launch.h"

#if defined(__CUDACC__)
// `name`: the CTA's dynamic shared memory, 16-byte aligned.
#define MIXDET_DYNAMIC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
#elif !defined(MIXDET_CUDA_EMULATION)
#error "mixconv_kernels.cuh needs nvcc or an emulation of the CUDA built-ins (MIXDET_CUDA_EMULATION)"
#endif

namespace mixdet {
namespace cuda {

__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }

// Where one CTA works: image n, channels [c0, c0 + nc) of group g, output tile origin (oy0, ox0).
struct Item {
  int g, n, c0, nc, oy0, ox0;
  int64_t tile_index;  // (n, tile) index into the weight-gradient partials
};

__device__ __forceinline__ int floor_div(int a, int b) { return (a >= 0 ? a : a - b + 1) / b; }

__device__ Item locate_item(const LaunchArgs& a) {
  const int64_t item = blockIdx.x;
  int g = 0;
  while (g + 1 < a.num_groups && item >= a.item_begin[g + 1]) ++g;
  const GroupArgs& grp = a.groups[g];
  const int cblocks = (grp.channels + a.cb - 1) / a.cb;
  int64_t local = item - a.item_begin[g];
  const int tx = local % a.tiles_x;
  local /= a.tiles_x;
  const int ty = local % a.tiles_y;
  local /= a.tiles_y;
  const int cblk = local % cblocks;
  const int n = local / cblocks;
  const int c0 = grp.c_begin + cblk * a.cb;
  return {g, n, c0, imin(a.cb, grp.c_begin + grp.channels - c0), ty * a.tile_h, tx * a.tile_w,
          (static_cast<int64_t>(n) * a.tiles_y + ty) * a.tiles_x + tx};
}

// s_w[cl][K*K] <- the weights of channels [c0, c0 + nc).
template <int K, typename scalar_t, typename acc_t>
__device__ void load_weights(const GroupArgs& grp, const Item& it, const scalar_t* w, acc_t* s_w) {
  const scalar_t* src = w + grp.w_offset + static_cast<int64_t>(it.c0 - grp.c_begin) * K * K;
  for (int i = threadIdx.x; i < it.nc * K * K; i += blockDim.x) s_w[i] = static_cast<acc_t>(src[i]);
}

// dst[cl][rows][cols] <- plane[n, c0 + cl][r0 + row][q0 + col], zero outside [0, h) x [0, w).
template <typename scalar_t, typename acc_t>
__device__ void load_tile(const scalar_t* plane, const Item& it, int c, int h, int w, int r0, int q0, int rows,
                          int cols, acc_t* dst) {
  const int area = rows * cols;
  for (int i = threadIdx.x; i < it.nc * area; i += blockDim.x) {
    const int cl = i / area, rc = i - cl * area, r = r0 + rc / cols, q = q0 + rc % cols;
    acc_t v = 0;
    if (r >= 0 && r < h && q >= 0 && q < w)
      v = static_cast<acc_t>(plane[(static_cast<int64_t>(it.n) * c + it.c0 + cl) * h * w +
                                   static_cast<int64_t>(r) * w + q]);
    dst[i] = v;
  }
}

template <int K, int S, typename scalar_t, typename acc_t>
__device__ void forward_item(const LaunchArgs& a, const Item& it, const scalar_t* x, const scalar_t* w,
                             scalar_t* y, acc_t* smem) {
  const GroupArgs& grp = a.groups[it.g];
  const int tw_pad = (a.tile_w + kStrip - 1) / kStrip * kStrip;
  const int in_h = (a.tile_h - 1) * S + K, in_w = (tw_pad - 1) * S + K;
  acc_t* s_w = smem;
  acc_t* s_in = smem + a.cb * K * K;
  load_weights<K>(grp, it, w, s_w);
  load_tile(x, it, a.c, a.h, a.w, it.oy0 * S - grp.pad_top, it.ox0 * S - grp.pad_left, in_h, in_w, s_in);
  __syncthreads();
  constexpr int kWindow = (kStrip - 1) * S + K;
  const int strips = tw_pad / kStrip, per_channel = a.tile_h * strips;
  for (int i = threadIdx.x; i < it.nc * per_channel; i += blockDim.x) {
    const int cl = i / per_channel, rem = i - cl * per_channel, ty = rem / strips, sx = (rem % strips) * kStrip;
    const int oy = it.oy0 + ty;
    if (oy >= a.h_out) continue;
    const acc_t* wk = s_w + cl * K * K;
    const acc_t* src = s_in + (cl * in_h + ty * S) * in_w + sx * S;
    acc_t acc[kStrip] = {};
#pragma unroll
    for (int kh = 0; kh < K; ++kh) {
      acc_t win[kWindow];
#pragma unroll
      for (int j = 0; j < kWindow; ++j) win[j] = src[kh * in_w + j];
#pragma unroll
      for (int kw = 0; kw < K; ++kw) {
        const acc_t wv = wk[kh * K + kw];
#pragma unroll
        for (int r = 0; r < kStrip; ++r) acc[r] += wv * win[r * S + kw];
      }
    }
    scalar_t* dst = y + (static_cast<int64_t>(it.n) * a.c + it.c0 + cl) * a.h_out * a.w_out +
                    static_cast<int64_t>(oy) * a.w_out;
#pragma unroll
    for (int r = 0; r < kStrip; ++r) {
      const int ox = it.ox0 + sx + r;
      if (ox < a.w_out) dst[ox] = static_cast<scalar_t>(acc[r]);
    }
  }
}

// Shared-memory extents of the backward tiles of a K x K group.
template <int K, int S>
struct BackwardTile {
  int dy_h, dy_w, x_h, x_w;
  __device__ BackwardTile(const LaunchArgs& a)
      : dy_h(a.tile_h + (K + S - 2) / S + 1),
        dy_w(a.tile_w + (K + S - 2) / S + 1),
        x_h((a.tile_h - 1) * S + K),
        x_w((a.tile_w - 1) * S + K) {}
};

template <int K, int S, typename scalar_t, typename acc_t>
__device__ void backward_item(const LaunchArgs& a, const Item& it, const scalar_t* dy, const scalar_t* x,
                              const scalar_t* w, scalar_t* dx, acc_t* partial, acc_t* smem) {
  const GroupArgs& grp = a.groups[it.g];
  const BackwardTile<K, S> t(a);
  // dy rows [dy_r0, dy_r0 + dy_h) cover every output that touches the input rows this item owns.
  const int dy_r0 = floor_div(it.oy0 * S + grp.pad_top - (K - 1), S);
  const int dy_c0 = floor_div(it.ox0 * S + grp.pad_left - (K - 1), S);
  acc_t* s_w = smem;
  acc_t* s_dy = s_w + a.cb * K * K;
  acc_t* s_x = s_dy + a.cb * t.dy_h * t.dy_w;
  if (dx != nullptr) load_weights<K>(grp, it, w, s_w);
  load_tile(dy, it, a.c, a.h_out, a.w_out, dy_r0, dy_c0, t.dy_h, t.dy_w, s_dy);
  if (partial != nullptr)
    load_tile(x, it, a.c, a.h, a.w, it.oy0 * S - grp.pad_top, it.ox0 * S - grp.pad_left, t.x_h, t.x_w, s_x);
  __syncthreads();

  if (dx != nullptr) {
    // dx[ih][iw] = sum over taps with (ih + pad_top - kh) % S == 0 of w[kh][kw] * dy[(ih + pad_top - kh) / S][..]
    const int rows = imin(a.tile_h * S, a.h - it.oy0 * S), cols = imin(a.tile_w * S, a.w - it.ox0 * S);
    const int area = rows * cols;
    for (int i = threadIdx.x; i < it.nc * area; i += blockDim.x) {
      const int cl = i / area, rc = i - cl * area;
      const int ih = it.oy0 * S + rc / cols, iw = it.ox0 * S + rc % cols;
      const int ph = (ih + grp.pad_top) % S, pw = (iw + grp.pad_left) % S;
      const acc_t* wk = s_w + cl * K * K;
      const acc_t* d = s_dy + cl * t.dy_h * t.dy_w;
      acc_t acc = 0;
#pragma unroll
      for (int jh = 0; jh < (K + S - 1) / S; ++jh) {
        const int kh = ph + S * jh;
        if (kh >= K) continue;
        const int row = (ih + grp.pad_top - kh) / S - dy_r0;
#pragma unroll
        for (int jw = 0; jw < (K + S - 1) / S; ++jw) {
          const int kw = pw + S * jw;
          if (kw >= K) continue;
          acc += wk[kh * K + kw] * d[row * t.dy_w + (iw + grp.pad_left - kw) / S - dy_c0];
        }
      }
      dx[(static_cast<int64_t>(it.n) * a.c + it.c0 + cl) * a.h * a.w + static_cast<int64_t>(ih) * a.w + iw] =
          static_cast<scalar_t>(acc);
    }
  }

  if (partial != nullptr) {
    // Pairs (channel, kh), each reduced by `lanes` threads of one warp over the tile's outputs; a lane
    // keeps all K taps of its row in registers.
    const int pairs = it.nc * K;
    int lanes = 32;
    while (lanes > 1 && pairs * lanes > static_cast<int>(blockDim.x)) lanes >>= 1;
    const int per_pass = blockDim.x / lanes, lane = threadIdx.x % lanes;
    const int vh = imin(a.tile_h, a.h_out - it.oy0), vw = imin(a.tile_w, a.w_out - it.ox0);
    const int dy_row0 = it.oy0 - dy_r0, dy_col0 = it.ox0 - dy_c0;
    for (int base = 0; base < pairs; base += per_pass) {
      const int pair = base + threadIdx.x / lanes;
      const bool active = pair < pairs;
      const int cl = active ? pair / K : 0, kh = active ? pair % K : 0;
      acc_t acc[K] = {};
      if (active) {
        const acc_t* d = s_dy + cl * t.dy_h * t.dy_w;
        const acc_t* xs = s_x + cl * t.x_h * t.x_w;
        for (int o = lane; o < vh * vw; o += lanes) {
          const int ty = o / vw, tx = o - ty * vw;
          const acc_t g = d[(dy_row0 + ty) * t.dy_w + dy_col0 + tx];
          const acc_t* xr = xs + (ty * S + kh) * t.x_w + tx * S;
#pragma unroll
          for (int kw = 0; kw < K; ++kw) acc[kw] += g * xr[kw];
        }
      }
#pragma unroll
      for (int kw = 0; kw < K; ++kw)
        for (int offset = lanes / 2; offset > 0; offset >>= 1)
          acc[kw] += __shfl_down_sync(0xffffffffu, acc[kw], offset, lanes);
      if (active && lane == 0) {
        acc_t* dst = partial + it.tile_index * a.w_total + grp.w_offset +
                     static_cast<int64_t>(it.c0 - grp.c_begin + cl) * K * K + kh * K;
#pragma unroll
        for (int kw = 0; kw < K; ++kw) dst[kw] = acc[kw];
      }
    }
  }
}

#define MIXDET_SWITCH_K(k, ...)                  \
  switch (k) {                                   \
    case 1: { constexpr int K = 1; __VA_ARGS__; } break;  \
    case 3: { constexpr int K = 3; __VA_ARGS__; } break;  \
    case 5: { constexpr int K = 5; __VA_ARGS__; } break;  \
    case 7: { constexpr int K = 7; __VA_ARGS__; } break;  \
    case 9: { constexpr int K = 9; __VA_ARGS__; } break;  \
    case 11: { constexpr int K = 11; __VA_ARGS__; } break; \
  }

template <int S, typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads) mixconv_forward_kernel(LaunchArgs a, const scalar_t* __restrict__ x,
                                                                   const scalar_t* __restrict__ w,
                                                                   scalar_t* __restrict__ y) {
  MIXDET_DYNAMIC_SMEM(smem_raw);
  const Item it = locate_item(a);
  MIXDET_SWITCH_K(a.groups[it.g].k,
                  forward_item<K, S>(a, it, x, w, y, reinterpret_cast<acc_t*>(smem_raw)))
}

template <int S, typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads)
    mixconv_backward_kernel(LaunchArgs a, const scalar_t* __restrict__ dy, const scalar_t* __restrict__ x,
                            const scalar_t* __restrict__ w, scalar_t* __restrict__ dx, acc_t* __restrict__ partial) {
  MIXDET_DYNAMIC_SMEM(smem_raw);
  const Item it = locate_item(a);
  MIXDET_SWITCH_K(a.groups[it.g].k,
                  backward_item<K, S>(a, it, dy, x, w, dx, partial, reinterpret_cast<acc_t*>(smem_raw)))
}

// dw[i] = sum_t partial[t][i], in order t = 0, 1, ...
template <typename scalar_t, typename acc_t>
__global__ void reduce_partials_kernel(const acc_t* __restrict__ partial, int64_t tiles, int64_t w_total,
                                       scalar_t* __restrict__ dw) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < w_total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    acc_t sum = 0;
    for (int64_t t = 0; t < tiles; ++t) sum += partial[t * w_total + i];
    dw[i] = static_cast<scalar_t>(sum);
  }
}

// The launches of one forward pass; `launch(kernel, Launch, args...)` runs a kernel (on the current
// CUDA stream, or in the emulation).
template <typename scalar_t, typename acc_t, typename Launcher>
void run_forward(const ForwardPlan& p, const scalar_t* x, const scalar_t* w, scalar_t* y, Launcher&& launch) {
  if (p.args.stride == 1)
    launch(mixconv_forward_kernel<1, scalar_t, acc_t>, p.conv, p.args, x, w, y);
  else
    launch(mixconv_forward_kernel<2, scalar_t, acc_t>, p.conv, p.args, x, w, y);
}

// The launches of one backward pass. dx == nullptr skips the input gradient, dw == nullptr the weight
// gradient; `workspace` holds p.workspace_bytes.
template <typename scalar_t, typename acc_t, typename Launcher>
void run_backward(const BackwardPlan& p, const scalar_t* dy, const scalar_t* x, const scalar_t* w, scalar_t* dx,
                  scalar_t* dw, void* workspace, Launcher&& launch) {
  acc_t* partial = dw != nullptr ? static_cast<acc_t*>(workspace) : nullptr;
  if (p.args.stride == 1)
    launch(mixconv_backward_kernel<1, scalar_t, acc_t>, p.conv, p.args, dy, x, w, dx, partial);
  else
    launch(mixconv_backward_kernel<2, scalar_t, acc_t>, p.conv, p.args, dy, x, w, dx, partial);
  if (dw != nullptr)
    launch(reduce_partials_kernel<scalar_t, acc_t>, p.reduce, static_cast<const acc_t*>(partial), p.partial_rows,
           p.args.w_total, dw);
}

}  // namespace cuda
}  // namespace mixdet
