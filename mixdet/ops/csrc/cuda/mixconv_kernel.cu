// CUDA kernels of mixdet::mixconv2d and mixdet::_mixconv2d_backward (NCHW, contiguous).
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
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <tuple>

#include "../mixconv.h"

namespace mixdet {
namespace {

constexpr int kMaxGroups = 8;
constexpr int kThreads = 256;
constexpr int kStrip = 4;                 // forward outputs per thread along W
constexpr int kTargetOutputs = 1024;      // outputs per CTA the tiling aims for
constexpr int64_t kSmemLimit = 48 * 1024;  // no opt-in to larger dynamic shared memory

struct GroupArgs {
  int c_begin, channels, k, pad_top, pad_left;
  int64_t w_offset;
};

// Kernel parameters of one launch. Groups are sorted by descending k; item_begin[g] is the first
// CTA of group g.
struct LaunchArgs {
  GroupArgs groups[kMaxGroups];
  int64_t item_begin[kMaxGroups + 1];
  int num_groups, n, c, h, w, h_out, w_out;
  int tile_h, tile_w, cb, tiles_y, tiles_x;
  int64_t w_total;
};

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
  return {g, n, c0, min(a.cb, grp.c_begin + grp.channels - c0), ty * a.tile_h, tx * a.tile_w,
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
    const int rows = min(a.tile_h * S, a.h - it.oy0 * S), cols = min(a.tile_w * S, a.w - it.ox0 * S);
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
    const int vh = min(a.tile_h, a.h_out - it.oy0), vw = min(a.tile_w, a.w_out - it.ox0);
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
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const Item it = locate_item(a);
  MIXDET_SWITCH_K(a.groups[it.g].k,
                  forward_item<K, S>(a, it, x, w, y, reinterpret_cast<acc_t*>(smem_raw)))
}

template <int S, typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads)
    mixconv_backward_kernel(LaunchArgs a, const scalar_t* __restrict__ dy, const scalar_t* __restrict__ x,
                            const scalar_t* __restrict__ w, scalar_t* __restrict__ dx, acc_t* __restrict__ partial) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
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

// Shared-memory bytes per channel of a pass (sized for the largest kernel of the call).
int64_t smem_per_channel(bool backward, int k, int s, int tile_h, int tile_w, int64_t elem) {
  if (!backward) {
    const int tw_pad = (tile_w + kStrip - 1) / kStrip * kStrip;
    return elem * (k * k + ((tile_h - 1) * s + k) * ((tw_pad - 1) * s + k));
  }
  const int64_t dy = (tile_h + (k + s - 2) / s + 1) * (tile_w + (k + s - 2) / s + 1);
  return elem * (k * k + dy + ((tile_h - 1) * s + k) * ((tile_w - 1) * s + k));
}

// Picks the tile and the channels per CTA, and lays out the item ranges of the groups.
LaunchArgs make_launch(const MixPlan& plan, bool backward, int64_t elem) {
  TORCH_CHECK(static_cast<int64_t>(plan.groups.size()) <= kMaxGroups, "mixconv2d (CUDA): at most ", kMaxGroups,
              " groups, got ", plan.groups.size());
  TORCH_CHECK(plan.stride == 1 || plan.stride == 2, "mixconv2d (CUDA): stride must be 1 or 2, got ", plan.stride);
  TORCH_CHECK(plan.dilation == 1, "mixconv2d (CUDA): dilation must be 1, got ", plan.dilation);
  TORCH_CHECK(plan.c * plan.h * plan.w < (int64_t(1) << 31), "mixconv2d (CUDA): one image of ", plan.c, "x",
              plan.h, "x", plan.w, " is too large for 32-bit channel/pixel indexing");
  LaunchArgs a{};
  a.num_groups = static_cast<int>(plan.groups.size());
  a.n = plan.n, a.c = plan.c, a.h = plan.h, a.w = plan.w, a.h_out = plan.h_out, a.w_out = plan.w_out;
  int k_max = 1, c_max = 1;
  std::array<int, kMaxGroups> order{};
  for (int g = 0; g < a.num_groups; ++g) {
    const MixGroup& src = plan.groups[g];
    TORCH_CHECK(src.k <= 11, "mixconv2d (CUDA): kernel sizes 1, 3, 5, 7, 9 and 11 are compiled, got ", src.k);
    k_max = std::max<int>(k_max, src.k);
    c_max = std::max<int>(c_max, src.channels);
    order[g] = g;
  }
  std::stable_sort(order.begin(), order.begin() + a.num_groups,
                   [&](int l, int r) { return plan.groups[l].k > plan.groups[r].k; });
  const int s = static_cast<int>(plan.stride);
  a.tile_w = static_cast<int>(std::min<int64_t>(plan.w_out, 64));
  a.tile_h = static_cast<int>(std::min<int64_t>(plan.h_out, std::max(1, kTargetOutputs / a.tile_w)));
  while (a.tile_h > 1 && smem_per_channel(backward, k_max, s, a.tile_h, a.tile_w, elem) > kSmemLimit) a.tile_h /= 2;
  const int64_t per_channel = smem_per_channel(backward, k_max, s, a.tile_h, a.tile_w, elem);
  TORCH_CHECK(per_channel <= kSmemLimit, "mixconv2d (CUDA): tile does not fit in shared memory");
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
  TORCH_CHECK(item < (int64_t(1) << 31), "mixconv2d (CUDA): ", item, " CTAs exceed the grid limit");
  a.w_total = plan.groups.back().w_offset + plan.groups.back().channels * plan.groups.back().k * plan.groups.back().k;
  return a;
}

int64_t smem_bytes(const LaunchArgs& a, bool backward, int64_t elem, int s) {
  int k_max = 1;
  for (int g = 0; g < a.num_groups; ++g) k_max = std::max(k_max, a.groups[g].k);
  return a.cb * smem_per_channel(backward, k_max, s, a.tile_h, a.tile_w, elem);
}

void check_cuda_input(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.is_cuda(), "mixconv2d (CUDA): ", name, " must be a CUDA tensor, got ", t.device());
}

at::Tensor mixconv2d_cuda(const at::Tensor& x_in, const at::Tensor& w_in, at::IntArrayRef channels,
                          at::IntArrayRef kernels, at::IntArrayRef pads, int64_t stride, int64_t dilation) {
  check_cuda_input(x_in, "x");
  const MixPlan plan = make_plan(x_in, w_in, channels, kernels, pads, stride, dilation);
  const c10::cuda::CUDAGuard guard(x_in.device());
  const at::Tensor x = x_in.contiguous(), w = w_in.contiguous();
  at::Tensor y = at::empty({plan.n, plan.c, plan.h_out, plan.w_out}, x.options());
  if (y.numel() == 0) return y;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "mixconv2d_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const LaunchArgs a = make_launch(plan, false, sizeof(acc_t));
    const int64_t smem = smem_bytes(a, false, sizeof(acc_t), static_cast<int>(stride));
    const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
    const dim3 grid(static_cast<unsigned>(a.item_begin[a.num_groups]));
    if (stride == 1)
      mixconv_forward_kernel<1, scalar_t, acc_t><<<grid, kThreads, smem, stream>>>(
          a, x.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(), y.mutable_data_ptr<scalar_t>());
    else
      mixconv_forward_kernel<2, scalar_t, acc_t><<<grid, kThreads, smem, stream>>>(
          a, x.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(), y.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return y;
}

std::tuple<at::Tensor, at::Tensor> mixconv2d_backward_cuda(const at::Tensor& grad_in, const at::Tensor& x_in,
                                                           const at::Tensor& w_in, at::IntArrayRef channels,
                                                           at::IntArrayRef kernels, at::IntArrayRef pads,
                                                           int64_t stride, int64_t dilation,
                                                           std::array<bool, 2> mask) {
  check_cuda_input(x_in, "x");
  const MixPlan plan = make_plan(x_in, w_in, channels, kernels, pads, stride, dilation);
  check_backward_args(grad_in, x_in, plan);
  const c10::cuda::CUDAGuard guard(x_in.device());
  const at::Tensor x = x_in.contiguous(), w = w_in.contiguous(), dy = grad_in.contiguous();
  at::Tensor dx = mask[0] ? at::empty(x.sizes(), x.options()) : at::empty({0}, x.options());
  at::Tensor dw = at::empty({mask[1] ? w.numel() : 0}, w.options());
  if (!(mask[0] || mask[1])) return {dx, dw};
  if (x.numel() == 0) {
    dw.zero_();
    return {dx, dw};
  }
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "mixconv2d_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const LaunchArgs a = make_launch(plan, true, sizeof(acc_t));
    const int64_t smem = smem_bytes(a, true, sizeof(acc_t), static_cast<int>(stride));
    const int64_t tiles = plan.n * a.tiles_y * a.tiles_x;
    // fp32 (fp64) partial weight gradients, one row per (image, tile); every entry is written.
    at::Tensor partial = at::empty({mask[1] ? tiles * a.w_total : 0},
                                   x.options().dtype(c10::CppTypeToScalarType<acc_t>::value));
    acc_t* partial_ptr = mask[1] ? partial.mutable_data_ptr<acc_t>() : nullptr;
    scalar_t* dx_ptr = mask[0] ? dx.mutable_data_ptr<scalar_t>() : nullptr;
    const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
    const dim3 grid(static_cast<unsigned>(a.item_begin[a.num_groups]));
    if (stride == 1)
      mixconv_backward_kernel<1, scalar_t, acc_t><<<grid, kThreads, smem, stream>>>(
          a, dy.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(), dx_ptr,
          partial_ptr);
    else
      mixconv_backward_kernel<2, scalar_t, acc_t><<<grid, kThreads, smem, stream>>>(
          a, dy.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(), dx_ptr,
          partial_ptr);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    if (mask[1]) {
      const int blocks = static_cast<int>(std::min<int64_t>((a.w_total + kThreads - 1) / kThreads, 4096));
      reduce_partials_kernel<scalar_t, acc_t><<<blocks, kThreads, 0, stream>>>(partial_ptr, tiles, a.w_total,
                                                                             dw.mutable_data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return {dx, dw};
}

}  // namespace

TORCH_LIBRARY_IMPL(mixdet, CUDA, m) {
  m.impl("mixconv2d", &mixconv2d_cuda);
  m.impl("_mixconv2d_backward", &mixconv2d_backward_cuda);
}

}  // namespace mixdet
