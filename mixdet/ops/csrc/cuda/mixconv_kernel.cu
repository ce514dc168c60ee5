// CUDA glue of mixdet::mixconv2d and mixdet::_mixconv2d_backward: argument checks, outputs and
// workspace, and the launches on the current stream. The kernels are in mixconv_kernels.cuh, the
// launch planning in mixconv_launch.h.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <array>
#include <string>
#include <tuple>
#include <vector>

#include "../mixconv.h"
#include "mixconv_kernels.cuh"

namespace mixdet {
namespace {

// Runs kernel<<<grid, threads, smem, stream>>>(args...) and checks the launch.
struct StreamLauncher {
  cudaStream_t stream;
  template <typename... Params, typename... Args>
  void operator()(void (*kernel)(Params...), const cuda::Launch& l, Args... args) const {
    if (l.blocks_x == 0) return;
    const dim3 grid(static_cast<unsigned>(l.blocks_x), static_cast<unsigned>(l.blocks_y));
    kernel<<<grid, l.threads, l.smem_bytes, stream>>>(args...);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
};

MixPlan cuda_plan(const at::Tensor& x, at::TensorList weights, at::IntArrayRef pads, int64_t stride,
                  int64_t dilation) {
  TORCH_CHECK(x.is_cuda(), "mixconv2d (CUDA): x must be a CUDA tensor, got ", x.device());
  MixPlan plan = make_plan(x, weights, pads, stride, dilation);
  const std::string why = cuda::unsupported(plan);
  TORCH_CHECK(why.empty(), "mixconv2d (CUDA): ", why);
  return plan;
}

at::Tensor mixconv2d_cuda(const at::Tensor& x_in, at::TensorList w_in, at::IntArrayRef pads, int64_t stride,
                          int64_t dilation) {
  const MixPlan plan = cuda_plan(x_in, w_in, pads, stride, dilation);
  const c10::cuda::CUDAGuard guard(x_in.device());
  const at::Tensor x = x_in.contiguous();
  const std::vector<at::Tensor> w = contiguous_weights(w_in);
  at::Tensor y = at::empty({plan.n, plan.c, plan.h_out, plan.w_out}, x.options());
  if (y.numel() == 0) return y;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "mixconv2d_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const std::vector<const scalar_t*> weights = weight_pointers<scalar_t>(w);
    cuda::run_forward<scalar_t, acc_t>(cuda::plan_forward(plan, sizeof(acc_t), cuda::stage_bytes<scalar_t, acc_t>),
                                       weights.data(),
                                       x.const_data_ptr<scalar_t>(), y.mutable_data_ptr<scalar_t>(),
                                       StreamLauncher{at::cuda::getCurrentCUDAStream()});
  });
  return y;
}

std::tuple<at::Tensor, at::Tensor> mixconv2d_backward_cuda(const at::Tensor& grad_in, const at::Tensor& x_in,
                                                           at::TensorList w_in, at::IntArrayRef pads, int64_t stride,
                                                           int64_t dilation, std::array<bool, 2> mask) {
  const MixPlan plan = cuda_plan(x_in, w_in, pads, stride, dilation);
  check_backward_args(grad_in, x_in, plan);
  const c10::cuda::CUDAGuard guard(x_in.device());
  const at::Tensor x = x_in.contiguous(), dy = grad_in.contiguous();
  const std::vector<at::Tensor> w = contiguous_weights(w_in);
  at::Tensor dx = mask[0] ? at::empty(x.sizes(), x.options()) : at::empty({0}, x.options());
  at::Tensor dw = at::empty({mask[1] ? packed_size(plan) : 0}, x.options());
  if (!(mask[0] || mask[1])) return {dx, dw};
  if (x.numel() == 0) {
    dw.zero_();
    return {dx, dw};
  }
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "mixconv2d_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const cuda::BackwardPlan p = cuda::plan_backward(plan, sizeof(acc_t), mask[1]);
    // fp32 (fp64) partial weight gradients, bounded by the planner (cuda::kWorkspaceBudget).
    const at::Tensor workspace = at::empty({p.workspace_bytes}, x.options().dtype(at::kByte));
    const std::vector<const scalar_t*> weights = weight_pointers<scalar_t>(w);
    cuda::run_backward<scalar_t, acc_t>(p, weights.data(), dy.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(),
                                        mask[0] ? dx.mutable_data_ptr<scalar_t>() : nullptr,
                                        mask[1] ? dw.mutable_data_ptr<scalar_t>() : nullptr,
                                        workspace.mutable_data_ptr(), StreamLauncher{at::cuda::getCurrentCUDAStream()});
  });
  return {dx, dw};
}

}  // namespace

TORCH_LIBRARY_IMPL(mixdet, CUDA, m) {
  m.impl("mixconv2d", &mixconv2d_cuda);
  m.impl("_mixconv2d_backward", &mixconv2d_backward_cuda);
}

}  // namespace mixdet
