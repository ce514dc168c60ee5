// C entry points (for ctypes) that run the real CUDA launch planning and kernels of
// mixconv_kernels.cuh on host memory under the CUDA emulation. Return 0, or -1 with
// mixdet_emu_error() saying why.
//
// dtype: 0 float32, 1 float64, 2 float16, 3 bfloat16 (MIXDET_EMU_FLOAT_ONLY: float32 only, for quick
// builds of mutated kernels). shape: n, c, h, w. pads: (pad_top, pad_left) per group. schedule: 0
// threads in order, 1 reversed, s >= 2 shuffled with seed s. blocks[nblocks]: run only these CTAs of
// the first launch and skip the later ones (nblocks == 0: everything). dx / dw null: not asked for.
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#ifndef MIXDET_EMU_FLOAT_ONLY
#include <ATen/OpMathType.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#endif

#include "cuda_emulation.h"
#include "mixconv_kernels.cuh"

namespace {

std::string g_error;

// The launcher the .cuh's run_* sequences call: emulated launches, optionally of a subset of CTAs.
struct EmulatedLauncher {
  mixdet_emu::Options options;
  bool skip = false;  // set after a launch of a subset of CTAs

  template <typename... Params, typename... Args>
  void operator()(void (*kernel)(Params...), const mixdet::cuda::Launch& l, Args... args) {
    if (skip) return;
    if (l.blocks_x > 0)
      mixdet_emu::launch(l.blocks_x, l.blocks_y, l.threads, l.smem_bytes, [&] { kernel(args...); }, options);
    skip = !options.blocks.empty();
  }
};

EmulatedLauncher launcher(int64_t schedule, const int64_t* blocks, int64_t nblocks) {
  EmulatedLauncher l;
  l.options.schedule = schedule == 0   ? mixdet_emu::Schedule::forward
                       : schedule == 1 ? mixdet_emu::Schedule::reverse
                                       : mixdet_emu::Schedule::shuffled;
  l.options.seed = static_cast<uint64_t>(schedule);
  l.options.blocks.assign(blocks, blocks + nblocks);
  return l;
}

mixdet::MixPlan plan_of(const int64_t* shape, int64_t groups, const int64_t* channels, const int64_t* kernels,
                        const int64_t* pads, int64_t stride) {
  return mixdet::plan_of(shape[0], shape[1], shape[2], shape[3], std::vector<int64_t>(channels, channels + groups),
                         std::vector<int64_t>(kernels, kernels + groups),
                         std::vector<int64_t>(pads, pads + 2 * groups), stride, 1);
}

// Each group's weights in the packed buffer w ([sum C_g * k_g^2]).
template <typename scalar_t>
std::vector<const scalar_t*> group_pointers(const mixdet::MixPlan& plan, const scalar_t* w) {
  std::vector<const scalar_t*> ptrs;
  for (const mixdet::MixGroup& g : plan.groups) ptrs.push_back(w + g.w_offset);
  return ptrs;
}

// Calls f(scalar_t{}, acc_t{}) for the dtype code.
template <typename F>
void dispatch(int dtype, F&& f) {
  switch (dtype) {
    case 0: return f(float{}, float{});
#ifndef MIXDET_EMU_FLOAT_ONLY
    case 1: return f(double{}, double{});
    case 2: return f(c10::Half{}, at::opmath_type<c10::Half>{});
    case 3: return f(c10::BFloat16{}, at::opmath_type<c10::BFloat16>{});
#endif
    default: throw std::invalid_argument("emulation: dtype code " + std::to_string(dtype) + " is not built");
  }
}

template <typename F>
int guarded(F&& f) {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    g_error = e.what();
    return -1;
  }
}

}  // namespace

#define MIXDET_EMU_API __attribute__((visibility("default")))

extern "C" {

MIXDET_EMU_API const char* mixdet_emu_error() { return g_error.c_str(); }

// The launch plans (mixdet::cuda::describe_plans JSON) of the call, or null with mixdet_emu_error().
MIXDET_EMU_API const char* mixdet_emu_describe(int dtype, const int64_t* shape, int64_t groups,
                                               const int64_t* channels, const int64_t* kernels, const int64_t* pads,
                                               int64_t stride) {
  static std::string report;
  const int status = guarded([&] {
    // Accumulation bytes, and the forward's staged element: 2 for float16/bfloat16 (codes 2, 3).
    report = mixdet::cuda::describe_plans(plan_of(shape, groups, channels, kernels, pads, stride), dtype == 1 ? 8 : 4,
                                          dtype >= 2 ? 2 : 0);
  });
  return status == 0 ? report.c_str() : nullptr;
}

MIXDET_EMU_API int mixdet_emu_forward(int dtype, const int64_t* shape, int64_t groups, const int64_t* channels,
                                      const int64_t* kernels, const int64_t* pads, int64_t stride, const void* x,
                                      const void* w, void* y, int64_t schedule, const int64_t* blocks,
                                      int64_t nblocks) {
  return guarded([&] {
    const mixdet::MixPlan plan = plan_of(shape, groups, channels, kernels, pads, stride);
    dispatch(dtype, [&](auto s, auto a) {
      using scalar_t = decltype(s);
      using acc_t = decltype(a);
      const std::vector<const scalar_t*> weights = group_pointers(plan, static_cast<const scalar_t*>(w));
      mixdet::cuda::run_forward<scalar_t, acc_t>(
          mixdet::cuda::plan_forward(plan, sizeof(acc_t), mixdet::cuda::stage_bytes<scalar_t, acc_t>), weights.data(),
                                                 static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y),
                                                 launcher(schedule, blocks, nblocks));
    });
  });
}

// *workspace_bytes: in, the bytes at `workspace` (< 0: only ask); out, the bytes the plan needs. Nothing
// runs when it needs more than there are. budget > 0: the planner's workspace budget instead of the default.
MIXDET_EMU_API int mixdet_emu_backward(int dtype, const int64_t* shape, int64_t groups, const int64_t* channels,
                                       const int64_t* kernels, const int64_t* pads, int64_t stride, const void* dy,
                                       const void* x, const void* w, void* dx, void* dw, void* workspace,
                                       int64_t* workspace_bytes, int64_t budget, int64_t schedule,
                                       const int64_t* blocks, int64_t nblocks) {
  return guarded([&] {
    const mixdet::MixPlan plan = plan_of(shape, groups, channels, kernels, pads, stride);
    dispatch(dtype, [&](auto s, auto a) {
      using scalar_t = decltype(s);
      using acc_t = decltype(a);
      const mixdet::cuda::BackwardPlan p = mixdet::cuda::plan_backward(
          plan, sizeof(acc_t), dw != nullptr, budget > 0 ? budget : mixdet::cuda::kWorkspaceBudget);
      const int64_t available = *workspace_bytes;
      *workspace_bytes = p.workspace_bytes;
      if (available < 0 || p.workspace_bytes > available) return;
      const std::vector<const scalar_t*> weights = group_pointers(plan, static_cast<const scalar_t*>(w));
      mixdet::cuda::run_backward<scalar_t, acc_t>(p, weights.data(), static_cast<const scalar_t*>(dy),
                                                  static_cast<const scalar_t*>(x), static_cast<scalar_t*>(dx),
                                                  static_cast<scalar_t*>(dw), workspace,
                                                  launcher(schedule, blocks, nblocks));
    });
  });
}

// Self-tests of the emulation on a 64-thread CTA (two warps). scenario 0: out[t] = __shfl_down_sync(full, t,
// delta, width); 1: only the first warp reaches __syncthreads; 2: lane 0 skips a shuffle the others make.
MIXDET_EMU_API int mixdet_emu_selftest(int scenario, int delta, int width, int* out) {
  return guarded([&] {
    mixdet_emu::launch(1, 1, 64, 0, [&] {
      const int t = static_cast<int>(threadIdx.x);
      if (scenario == 0) out[t] = __shfl_down_sync(0xffffffffu, t, static_cast<unsigned>(delta), width);
      if (scenario == 1 && t < 32) __syncthreads();
      if (scenario == 2 && t % 32 != 0) out[t] = __shfl_down_sync(0xffffffffu, t, 1);
    }, {});
  });
}

}  // extern "C"
