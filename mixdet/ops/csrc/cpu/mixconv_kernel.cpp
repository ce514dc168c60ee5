// CPU kernels of mixdet::mixconv2d and mixdet::_mixconv2d_backward.
//
// Direct convolution, one (n, c) plane at a time (at::parallel_for over planes; over channels in
// the backward so that each channel's weight gradient is summed in a fixed order). A plane is first
// copied into a zero-padded scratch buffer in the accumulation type (fp32 for fp16/bf16), split into
// `stride` column phases so that every tap reads contiguous memory; then a register block of
// kRows x cols outputs accumulates all taps. The block routines are compiled for AVX-512, AVX2+FMA
// and the baseline ISA; the widest one the CPU supports runs.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <tuple>
#include <vector>

#include "../mixconv.h"

#if defined(__GNUC__) && defined(__x86_64__)
#define MIXDET_X86_CLONES 1
#endif

namespace mixdet {
namespace {

constexpr int64_t kRows = 4;  // output rows per register block
// Forward outputs narrower than this use the channel-interleaved kernel (faster there, measured),
// wider ones the plane kernel.
constexpr int64_t kSmallWidth = 20;

// One filter tap: its weight and the offset of its first source element from the block origin.
template <typename acc_t>
struct Tap {
  acc_t w;
  int64_t offset;
};

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// COLS consecutive values as one GCC vector (the clones lower it to AVX-512, AVX2 or SSE registers).
template <typename acc_t, int64_t COLS>
struct Lanes {
  typedef acc_t type __attribute__((vector_size(COLS * sizeof(acc_t))));
};

template <typename V>
__attribute__((always_inline)) inline V load(const void* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof(V));
  return v;
}

// out[r, i] = sum_t taps[t].w * src[taps[t].offset + r * src_step + i] for r < rows_pad, i < cols_pad
// (rows/cols rounded up to the block; the caller sizes src and out for that).
template <typename acc_t, int64_t COLS>
__attribute__((always_inline)) inline void gather_taps(const Tap<acc_t>* taps, int64_t ntaps, const acc_t* src,
                                                        int64_t src_step, int64_t rows, int64_t cols, acc_t* out,
                                                        int64_t out_step) {
  using V = typename Lanes<acc_t, COLS>::type;
  for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
    for (int64_t c0 = 0; c0 < cols; c0 += COLS) {
      V acc[kRows] = {};
      const acc_t* origin = src + r0 * src_step + c0;
      for (int64_t t = 0; t < ntaps; ++t) {
        const acc_t w = taps[t].w;
        const acc_t* p = origin + taps[t].offset;
        for (int64_t r = 0; r < kRows; ++r) acc[r] += w * load<V>(p + r * src_step);
      }
      for (int64_t r = 0; r < kRows; ++r) __builtin_memcpy(out + (r0 + r) * out_step + c0, &acc[r], sizeof(V));
    }
  }
}

// grad[t] += sum_{r < rows, i < cols_pad} dy[r * dy_step + i] * src[taps[t].offset + r * src_step + i].
template <typename acc_t, int64_t COLS>
__attribute__((always_inline)) inline void dot_taps(const Tap<acc_t>* taps, int64_t ntaps, const acc_t* src,
                                                     int64_t src_step, const acc_t* dy, int64_t dy_step,
                                                     int64_t rows, int64_t cols_pad, acc_t* grad) {
  using V = typename Lanes<acc_t, COLS>::type;
  for (int64_t t = 0; t < ntaps; ++t) {
    V acc = {};
    const acc_t* p = src + taps[t].offset;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c0 = 0; c0 < cols_pad; c0 += COLS)
        acc += load<V>(dy + r * dy_step + c0) * load<V>(p + r * src_step + c0);
    acc_t sum = 0;
    for (int64_t i = 0; i < COLS; ++i) sum += acc[i];
    grad[t] += sum;
  }
}

// Channel-interleaved layout for small planes: buf[pixel][lane] holds one pixel of `L` channels of a
// group, so a vector is one pixel of L channels (with per-lane weights) and no lane is wasted on width.
// out[j][lane] = sum_t wt[t][lane] * buf[base[j] + toff[t]][lane] for kOutBlock outputs j.
constexpr int64_t kOutBlock = 8;

template <typename acc_t>
constexpr int64_t lanes_of() {
  return 64 / sizeof(acc_t);  // one 512-bit vector: 16 floats, 8 doubles
}

template <typename acc_t>
__attribute__((always_inline)) inline void lane_taps(const acc_t* buf, const int64_t* base, const int64_t* toff,
                                                      const acc_t* wt, int64_t ntaps, acc_t* out) {
  constexpr int64_t L = lanes_of<acc_t>();
  using V = typename Lanes<acc_t, L>::type;
  V acc[kOutBlock] = {};
  for (int64_t t = 0; t < ntaps; ++t) {
    const V w = load<V>(wt + t * L);
    const acc_t* p = buf + toff[t];
    for (int64_t j = 0; j < kOutBlock; ++j) acc[j] += w * load<V>(p + base[j]);
  }
  for (int64_t j = 0; j < kOutBlock; ++j) __builtin_memcpy(out + j * L, &acc[j], sizeof(V));
}

// The block routines compiled for one instruction set, e.g. gather_avx2 / dot_avx2.
#define MIXDET_DEFINE_ISA(isa, target)                                                                         \
  template <typename acc_t>                                                                                    \
  target void gather_##isa(const Tap<acc_t>* taps, int64_t ntaps, const acc_t* src, int64_t src_step,          \
                           int64_t rows, int64_t cols, acc_t* out, int64_t out_step, int64_t block) {          \
    if (block == 8)                                                                                            \
      gather_taps<acc_t, 8>(taps, ntaps, src, src_step, rows, cols, out, out_step);                            \
    else                                                                                                       \
      gather_taps<acc_t, 16>(taps, ntaps, src, src_step, rows, cols, out, out_step);                           \
  }                                                                                                            \
  template <typename acc_t>                                                                                    \
  target void dot_##isa(const Tap<acc_t>* taps, int64_t ntaps, const acc_t* src, int64_t src_step,             \
                        const acc_t* dy, int64_t dy_step, int64_t rows, int64_t cols_pad, acc_t* grad,         \
                        int64_t block) {                                                                       \
    if (block == 8)                                                                                            \
      dot_taps<acc_t, 8>(taps, ntaps, src, src_step, dy, dy_step, rows, cols_pad, grad);                       \
    else                                                                                                       \
      dot_taps<acc_t, 16>(taps, ntaps, src, src_step, dy, dy_step, rows, cols_pad, grad);                      \
  }                                                                                                            \
  template <typename acc_t>                                                                                    \
  target void lanes_##isa(const acc_t* buf, const int64_t* base, const int64_t* toff, const acc_t* wt,         \
                          int64_t ntaps, acc_t* out) {                                                         \
    lane_taps(buf, base, toff, wt, ntaps, out);                                                                \
  }
MIXDET_DEFINE_ISA(base, )
#ifdef MIXDET_X86_CLONES
MIXDET_DEFINE_ISA(avx2, __attribute__((target("avx2,fma"))))
MIXDET_DEFINE_ISA(avx512, __attribute__((target("avx512f,avx512vl,avx2,fma"))))
#endif
#undef MIXDET_DEFINE_ISA

enum class Isa { base, avx2, avx512 };

// The widest instruction set this CPU runs, checked once.
Isa cpu_isa() {
#ifdef MIXDET_X86_CLONES
  static const Isa isa = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") ? Isa::avx512
                         : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")       ? Isa::avx2
                                                                                                 : Isa::base;
  return isa;
#else
  return Isa::base;
#endif
}

template <typename acc_t>
void gather(const Tap<acc_t>* taps, int64_t ntaps, const acc_t* src, int64_t src_step, int64_t rows, int64_t cols,
            acc_t* out, int64_t out_step, int64_t block) {
#ifdef MIXDET_X86_CLONES
  if (cpu_isa() == Isa::avx512) return gather_avx512(taps, ntaps, src, src_step, rows, cols, out, out_step, block);
  if (cpu_isa() == Isa::avx2) return gather_avx2(taps, ntaps, src, src_step, rows, cols, out, out_step, block);
#endif
  gather_base(taps, ntaps, src, src_step, rows, cols, out, out_step, block);
}

template <typename acc_t>
void dot(const Tap<acc_t>* taps, int64_t ntaps, const acc_t* src, int64_t src_step, const acc_t* dy, int64_t dy_step,
         int64_t rows, int64_t cols_pad, acc_t* grad, int64_t block) {
#ifdef MIXDET_X86_CLONES
  if (cpu_isa() == Isa::avx512) return dot_avx512(taps, ntaps, src, src_step, dy, dy_step, rows, cols_pad, grad, block);
  if (cpu_isa() == Isa::avx2) return dot_avx2(taps, ntaps, src, src_step, dy, dy_step, rows, cols_pad, grad, block);
#endif
  dot_base(taps, ntaps, src, src_step, dy, dy_step, rows, cols_pad, grad, block);
}

template <typename acc_t>
void lanes(const acc_t* buf, const int64_t* base, const int64_t* toff, const acc_t* wt, int64_t ntaps, acc_t* out) {
#ifdef MIXDET_X86_CLONES
  if (cpu_isa() == Isa::avx512) return lanes_avx512(buf, base, toff, wt, ntaps, out);
  if (cpu_isa() == Isa::avx2) return lanes_avx2(buf, base, toff, wt, ntaps, out);
#endif
  lanes_base(buf, base, toff, wt, ntaps, out);
}

// Column-block width: 8 when it wastes fewer padded columns than 16.
int64_t column_block(int64_t w_out) { return round_up(w_out, 8) < round_up(w_out, 16) ? 8 : 16; }

// Geometry of one group's zero-padded, column-phase-split input plane:
// buf[p][row][q] = x[row - pad_top][q * stride + p - pad_left] (zero outside the plane).
struct PhaseGeometry {
  int64_t rows, cols, phases;
  PhaseGeometry(const MixPlan& plan, const MixGroup& g, int64_t block) {
    const int64_t span = plan.dilation * (g.k - 1);
    rows = (round_up(plan.h_out, kRows) - 1) * plan.stride + span + 1;
    cols = round_up(plan.w_out, block) + span / plan.stride;
    phases = plan.stride;
  }
  int64_t size() const { return rows * cols * phases; }
};

template <typename scalar_t, typename acc_t>
void pack_phases(const scalar_t* x, const MixPlan& plan, const MixGroup& g, const PhaseGeometry& geo, acc_t* buf) {
  const int64_t s = plan.stride;
  for (int64_t p = 0; p < geo.phases; ++p) {
    // Columns q with 0 <= q * s + p - pad_left < w.
    const int64_t q_lo = std::min(geo.cols, std::max<int64_t>(0, (g.pad_left - p + s - 1) / s));
    const int64_t q_hi = std::max(q_lo, std::min(geo.cols, (plan.w - 1 + g.pad_left - p) / s + 1));
    for (int64_t row = 0; row < geo.rows; ++row) {
      acc_t* dst = buf + (p * geo.rows + row) * geo.cols;
      const int64_t ih = row - g.pad_top;
      if (ih < 0 || ih >= plan.h) {
        std::fill(dst, dst + geo.cols, acc_t(0));
        continue;
      }
      const scalar_t* src = x + ih * plan.w + p - g.pad_left;
      std::fill(dst, dst + q_lo, acc_t(0));
      for (int64_t q = q_lo; q < q_hi; ++q) dst[q] = static_cast<acc_t>(src[q * s]);
      std::fill(dst + q_hi, dst + geo.cols, acc_t(0));
    }
  }
}

// The k*k forward taps of one channel on its phase buffer (block origin = output (0, 0)).
template <typename acc_t, typename scalar_t>
void forward_taps(const scalar_t* w, const MixPlan& plan, const MixGroup& g, const PhaseGeometry& geo,
                  std::vector<Tap<acc_t>>& taps) {
  taps.clear();
  for (int64_t kh = 0; kh < g.k; ++kh)
    for (int64_t kw = 0; kw < g.k; ++kw) {
      const int64_t col = kw * plan.dilation;
      const int64_t offset =
          ((col % plan.stride) * geo.rows + kh * plan.dilation) * geo.cols + col / plan.stride;
      taps.push_back({static_cast<acc_t>(w[kh * g.k + kw]), offset});
    }
}

// Index of the group of channel c.
size_t group_of(const MixPlan& plan, int64_t c) {
  for (size_t g = 0; g < plan.groups.size(); ++g)
    if (c < plan.groups[g].c_begin + plan.groups[g].channels) return g;
  return plan.groups.size() - 1;  // unreachable: make_plan checked that the groups cover every channel
}

// Forward in the channel-interleaved layout: one work unit = (group, block of L channels, image).
template <typename scalar_t, typename acc_t>
void forward_lanes(const scalar_t* x, const std::vector<const scalar_t*>& w, scalar_t* y, const MixPlan& plan) {
  constexpr int64_t L = lanes_of<acc_t>();
  const int64_t s = plan.stride, d = plan.dilation, hw_out = plan.h_out * plan.w_out;
  const int64_t hw_pad = round_up(hw_out, kOutBlock);
  std::vector<int64_t> unit_begin{0};  // first unit of each group
  for (const MixGroup& g : plan.groups) unit_begin.push_back(unit_begin.back() + (g.channels + L - 1) / L * plan.n);
  at::parallel_for(0, unit_begin.back(), 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> buf, wt, out(hw_pad * L);
    std::vector<int64_t> base(hw_pad), toff;
    int64_t weights_of = -1;  // (group, block) whose weights are in wt, as group * C + first channel
    for (int64_t u = begin; u < end; ++u) {
      size_t gi = 0;
      while (u >= unit_begin[gi + 1]) ++gi;
      const MixGroup& g = plan.groups[gi];
      const int64_t block = (u - unit_begin[gi]) / plan.n, n = (u - unit_begin[gi]) % plan.n;
      const int64_t c0 = g.c_begin + block * L, nl = std::min(L, g.c_begin + g.channels - c0);
      const int64_t span = d * (g.k - 1);
      const int64_t rows = (plan.h_out - 1) * s + span + 1, cols = (plan.w_out - 1) * s + span + 1;
      if (weights_of != static_cast<int64_t>(gi) * plan.c + c0) {
        weights_of = static_cast<int64_t>(gi) * plan.c + c0;
        wt.assign(g.k * g.k * L, acc_t(0));
        toff.resize(g.k * g.k);
        for (int64_t t = 0; t < g.k * g.k; ++t) {
          for (int64_t l = 0; l < nl; ++l)
            wt[t * L + l] = static_cast<acc_t>(w[gi][(c0 - g.c_begin + l) * g.k * g.k + t]);
          toff[t] = ((t / g.k) * d * cols + (t % g.k) * d) * L;
        }
        for (int64_t o = 0; o < hw_pad; ++o) {
          const int64_t oc = std::min(o, hw_out - 1);  // the tail block repeats the last output
          base[o] = ((oc / plan.w_out) * s * cols + (oc % plan.w_out) * s) * L;
        }
      }
      buf.assign(rows * cols * L, acc_t(0));
      for (int64_t l = 0; l < nl; ++l) {
        const scalar_t* src = x + (n * plan.c + c0 + l) * plan.h * plan.w;
        for (int64_t ih = 0; ih < plan.h && ih + g.pad_top < rows; ++ih)
          for (int64_t iw = 0; iw < plan.w && iw + g.pad_left < cols; ++iw)
            buf[((ih + g.pad_top) * cols + iw + g.pad_left) * L + l] = static_cast<acc_t>(src[ih * plan.w + iw]);
      }
      for (int64_t o0 = 0; o0 < hw_out; o0 += kOutBlock)
        lanes(buf.data(), base.data() + o0, toff.data(), wt.data(), g.k * g.k, out.data() + o0 * L);
      for (int64_t l = 0; l < nl; ++l) {
        scalar_t* dst = y + (n * plan.c + c0 + l) * hw_out;
        for (int64_t o = 0; o < hw_out; ++o) dst[o] = out[o * L + l];
      }
    }
  });
}

at::Tensor mixconv2d_cpu(const at::Tensor& x_in, at::TensorList w_in, at::IntArrayRef pads, int64_t stride,
                         int64_t dilation) {
  const MixPlan plan = make_plan(x_in, w_in, pads, stride, dilation);
  const at::Tensor x = x_in.contiguous();
  const std::vector<at::Tensor> w = contiguous_weights(w_in);
  at::Tensor y = at::empty({plan.n, plan.c, plan.h_out, plan.w_out}, x.options());
  const int64_t block = column_block(plan.w_out);
  const int64_t ho_pad = round_up(plan.h_out, kRows), wo_pad = round_up(plan.w_out, block);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "mixconv2d_cpu", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const scalar_t* xp = x.const_data_ptr<scalar_t>();
    const std::vector<const scalar_t*> wp = weight_pointers<scalar_t>(w);
    scalar_t* yp = y.mutable_data_ptr<scalar_t>();
    if (plan.w_out < kSmallWidth) return forward_lanes<scalar_t, acc_t>(xp, wp, yp, plan);
    // Planes in channel-major order, so that consecutive planes of a chunk share their taps.
    at::parallel_for(0, plan.n * plan.c, 1, [&](int64_t begin, int64_t end) {
      std::vector<acc_t> buf, out(ho_pad * wo_pad);
      std::vector<Tap<acc_t>> taps;
      for (int64_t i = begin; i < end; ++i) {
        const int64_t c = i / plan.n, plane = (i % plan.n) * plan.c + c;
        const size_t gi = group_of(plan, c);
        const MixGroup& g = plan.groups[gi];
        const PhaseGeometry geo(plan, g, block);
        if (i == begin || i % plan.n == 0) {
          buf.resize(geo.size());
          forward_taps(wp[gi] + (c - g.c_begin) * g.k * g.k, plan, g, geo, taps);
        }
        pack_phases(xp + plane * plan.h * plan.w, plan, g, geo, buf.data());
        gather(taps.data(), static_cast<int64_t>(taps.size()), buf.data(), plan.stride * geo.cols, plan.h_out,
               plan.w_out, out.data(), wo_pad, block);
        scalar_t* dst = yp + plane * plan.h_out * plan.w_out;
        for (int64_t oh = 0; oh < plan.h_out; ++oh)
          for (int64_t ow = 0; ow < plan.w_out; ++ow) dst[oh * plan.w_out + ow] = out[oh * wo_pad + ow];
      }
    });
  });
  return y;
}

// Input gradient of one plane, gathered per input phase (a, b): dx[S*u + a][S*v + b] sums w[kh][kw] *
// dy[u + (a + pad_top - kh*d)/S][v + ...] over the taps where the division is exact. dyb holds dy with
// `lead` zero rows/columns in front and zeros behind.
template <typename scalar_t, typename acc_t>
void input_grad_plane(const scalar_t* w, const acc_t* dyb, int64_t dyb_cols, int64_t lead, const MixPlan& plan,
                      const MixGroup& g, int64_t block, std::vector<Tap<acc_t>>& taps, std::vector<acc_t>& out,
                      scalar_t* dx) {
  const int64_t s = plan.stride, d = plan.dilation;
  for (int64_t a = 0; a < s && a < plan.h; ++a)
    for (int64_t b = 0; b < s && b < plan.w; ++b) {
      const int64_t rows = (plan.h - a + s - 1) / s, cols = (plan.w - b + s - 1) / s;
      taps.clear();
      for (int64_t kh = 0; kh < g.k; ++kh) {
        const int64_t dr = a + g.pad_top - kh * d;
        if (((dr % s) + s) % s != 0) continue;
        for (int64_t kw = 0; kw < g.k; ++kw) {
          const int64_t dc = b + g.pad_left - kw * d;
          if (((dc % s) + s) % s != 0) continue;
          taps.push_back({static_cast<acc_t>(w[kh * g.k + kw]), (lead + dr / s) * dyb_cols + lead + dc / s});
        }
      }
      const int64_t out_step = round_up(cols, block);
      gather(taps.data(), static_cast<int64_t>(taps.size()), dyb, dyb_cols, rows, cols, out.data(), out_step, block);
      for (int64_t u = 0; u < rows; ++u)
        for (int64_t v = 0; v < cols; ++v) dx[(u * s + a) * plan.w + v * s + b] = out[u * out_step + v];
    }
}

std::tuple<at::Tensor, at::Tensor> mixconv2d_backward_cpu(const at::Tensor& grad_in, const at::Tensor& x_in,
                                                          at::TensorList w_in, at::IntArrayRef pads, int64_t stride,
                                                          int64_t dilation, std::array<bool, 2> mask) {
  const MixPlan plan = make_plan(x_in, w_in, pads, stride, dilation);
  check_backward_args(grad_in, x_in, plan);
  const at::Tensor x = x_in.contiguous(), dy = grad_in.contiguous();
  const std::vector<at::Tensor> w = contiguous_weights(w_in);
  at::Tensor dx = mask[0] ? at::empty(x.sizes(), x.options()) : at::empty({0}, x.options());
  at::Tensor dw = at::empty({mask[1] ? packed_size(plan) : 0}, x.options());
  const int64_t block = column_block(plan.w_out);
  const int64_t ho_pad = round_up(plan.h_out, kRows), wo_pad = round_up(plan.w_out, block);
  int64_t max_span = 0;
  for (const MixGroup& g : plan.groups) max_span = std::max(max_span, dilation * (g.k - 1));
  // dy with `lead` zeros in front (enough for the most negative tap offset) and room behind.
  const int64_t lead = (max_span + stride - 1) / stride;
  const int64_t dyb_rows = lead + ho_pad + (stride - 1 + max_span) / stride + kRows;
  const int64_t dyb_cols = lead + wo_pad + (stride - 1 + max_span) / stride + block;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "mixconv2d_backward_cpu", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const scalar_t* xp = x.const_data_ptr<scalar_t>();
    const std::vector<const scalar_t*> wp = weight_pointers<scalar_t>(w);
    const scalar_t* dyp = dy.const_data_ptr<scalar_t>();
    scalar_t* dxp = mask[0] ? dx.mutable_data_ptr<scalar_t>() : nullptr;
    scalar_t* dwp = mask[1] ? dw.mutable_data_ptr<scalar_t>() : nullptr;
    at::parallel_for(0, plan.c, 1, [&](int64_t begin, int64_t end) {
      std::vector<acc_t> buf, dyb(dyb_rows * dyb_cols, acc_t(0)), out(ho_pad * wo_pad), grad;
      std::vector<Tap<acc_t>> taps, fwd_taps;
      for (int64_t c = begin; c < end; ++c) {
        const size_t gi = group_of(plan, c);
        const MixGroup& g = plan.groups[gi];
        const PhaseGeometry geo(plan, g, block);
        const scalar_t* wc = wp[gi] + (c - g.c_begin) * g.k * g.k;
        buf.resize(geo.size());
        grad.assign(g.k * g.k, acc_t(0));
        forward_taps(wc, plan, g, geo, fwd_taps);
        for (int64_t n = 0; n < plan.n; ++n) {
          const int64_t plane = n * plan.c + c;
          const scalar_t* dy_plane = dyp + plane * plan.h_out * plan.w_out;
          for (int64_t oh = 0; oh < plan.h_out; ++oh)
            for (int64_t ow = 0; ow < plan.w_out; ++ow)
              dyb[(lead + oh) * dyb_cols + lead + ow] = static_cast<acc_t>(dy_plane[oh * plan.w_out + ow]);
          if (mask[1]) {
            pack_phases(xp + plane * plan.h * plan.w, plan, g, geo, buf.data());
            dot(fwd_taps.data(), static_cast<int64_t>(fwd_taps.size()), buf.data(), plan.stride * geo.cols,
                dyb.data() + lead * dyb_cols + lead, dyb_cols, plan.h_out, wo_pad, grad.data(), block);
          }
          if (mask[0])
            input_grad_plane(wc, dyb.data(), dyb_cols, lead, plan, g, block, taps, out,
                             dxp + plane * plan.h * plan.w);
        }
        if (mask[1])
          for (int64_t t = 0; t < g.k * g.k; ++t) dwp[g.w_offset + (c - g.c_begin) * g.k * g.k + t] = grad[t];
      }
    });
  });
  return {dx, dw};
}

}  // namespace

TORCH_LIBRARY_IMPL(mixdet, CPU, m) {
  m.impl("mixconv2d", &mixconv2d_cpu);
  m.impl("_mixconv2d_backward", &mixconv2d_backward_cpu);
}

}  // namespace mixdet
