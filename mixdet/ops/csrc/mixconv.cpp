// Schema of the mixdet MixConv ops and the argument checks shared by every backend.
//
//   mixdet::mixconv2d(x [N,C,H,W], weights [G] of [C_g,1,k_g,k_g], pads [2G] = (pad_top, pad_left) per group,
//                     stride, dilation) -> y [N, C, ceil(H/stride), ceil(W/stride)], contiguous NCHW.
//   mixdet::_mixconv2d_backward(grad_y, x, weights, pads, stride, dilation, output_mask [2])
//       -> (grad_x [N,C,H,W], grad_w [sum C_g*k_g*k_g]: the groups' gradients packed in order);
//       an output whose mask entry is false is returned as an empty tensor.
// Bottom/right padding follow from the output size, so PyTorch 'symmetric' and TF 'same'
// padding are the same kernel with different (pad_top, pad_left).
#include <ATen/OpMathType.h>
#include <Python.h>
#include <torch/library.h>

#include <string>
#include <vector>

#include "cuda/mixconv_launch.h"
#include "mixconv.h"

// `import mixdet.ops._C` loads this library, which registers the ops below.
extern "C" PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}

namespace mixdet {

namespace {

// The checks of the groups and the geometry that every entry point shares; returns the plan.
MixPlan checked_plan(at::IntArrayRef x_shape, at::IntArrayRef channels, at::IntArrayRef kernels,
                     at::IntArrayRef pads, int64_t stride, int64_t dilation) {
  TORCH_CHECK(x_shape.size() == 4, "mixconv2d: x must be 4-D [N, C, H, W], got ", x_shape);
  TORCH_CHECK(!channels.empty(), "mixconv2d: there must be at least one group");
  TORCH_CHECK(kernels.size() == channels.size(), "mixconv2d: got ", channels.size(), " channel counts but ",
              kernels.size(), " kernel sizes");
  TORCH_CHECK(pads.size() == 2 * channels.size(), "mixconv2d: pads needs (pad_top, pad_left) per group: ",
              2 * channels.size(), " values, got ", pads.size());
  TORCH_CHECK(stride >= 1, "mixconv2d: stride must be >= 1, got ", stride);
  TORCH_CHECK(dilation >= 1, "mixconv2d: dilation must be >= 1, got ", dilation);
  TORCH_CHECK(x_shape[2] >= 1 && x_shape[3] >= 1, "mixconv2d: empty spatial size ", x_shape);
  for (size_t g = 0; g < channels.size(); ++g) {
    const int64_t k = kernels[g], span = dilation * (k - 1);
    TORCH_CHECK(channels[g] >= 1, "mixconv2d: group ", g, " has ", channels[g], " channels");
    TORCH_CHECK(k >= 1 && k % 2 == 1, "mixconv2d: group ", g, " kernel size must be odd and positive, got ", k);
    TORCH_CHECK(pads[2 * g] >= 0 && pads[2 * g] <= span && pads[2 * g + 1] >= 0 && pads[2 * g + 1] <= span,
                "mixconv2d: group ", g, " pads (", pads[2 * g], ", ", pads[2 * g + 1], ") must lie in [0, ", span,
                "]");
  }
  MixPlan plan = plan_of(x_shape[0], x_shape[1], x_shape[2], x_shape[3], channels, kernels, pads, stride, dilation);
  const MixGroup& last = plan.groups.back();
  TORCH_CHECK(last.c_begin + last.channels == plan.c, "mixconv2d: the groups cover ", last.c_begin + last.channels,
              " channels but x has ", plan.c);
  return plan;
}

// The CUDA kernels' launch plans of a call as JSON (cuda::describe_plans): tiles, grids, shared memory,
// workspace. Shapes only, so it answers for any size on any machine.
std::string cuda_launch_plan(at::IntArrayRef x_shape, at::IntArrayRef channels, at::IntArrayRef kernels,
                             at::IntArrayRef pads, int64_t stride, int64_t dilation, at::ScalarType dtype) {
  const MixPlan plan = checked_plan(x_shape, channels, kernels, pads, stride, dilation);
  // Accumulation bytes; the forward stages 2-byte inputs as they are (cuda::stage_type).
  const int64_t elem = static_cast<int64_t>(c10::elementSize(at::toOpMathType(dtype)));
  return cuda::describe_plans(plan, elem, c10::elementSize(dtype) == 2 ? 2 : elem);
}

}  // namespace

MixPlan make_plan(const at::Tensor& x, at::TensorList weights, at::IntArrayRef pads, int64_t stride,
                  int64_t dilation) {
  TORCH_CHECK(x.is_floating_point(), "mixconv2d: x must be floating point, got ", x.scalar_type());
  std::vector<int64_t> channels, kernels;
  for (size_t g = 0; g < weights.size(); ++g) {
    const at::Tensor& w = weights[g];
    TORCH_CHECK(w.dim() == 4 && w.size(1) == 1 && w.size(2) == w.size(3), "mixconv2d: weights[", g,
                "] must be [C_g, 1, k, k], got ", w.sizes());
    TORCH_CHECK(w.scalar_type() == x.scalar_type(), "mixconv2d: weights[", g, "] dtype ", w.scalar_type(),
                " differs from x dtype ", x.scalar_type());
    TORCH_CHECK(w.device() == x.device(), "mixconv2d: weights[", g, "] is on ", w.device(), " but x is on ",
                x.device());
    channels.push_back(w.size(0));
    kernels.push_back(w.size(2));
  }
  return checked_plan(x.sizes(), channels, kernels, pads, stride, dilation);
}

std::vector<at::Tensor> contiguous_weights(at::TensorList weights) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& w : weights) out.push_back(w.contiguous());
  return out;
}

void check_backward_args(const at::Tensor& grad_out, const at::Tensor& x, const MixPlan& plan) {
  TORCH_CHECK(grad_out.sizes() == at::IntArrayRef({plan.n, plan.c, plan.h_out, plan.w_out}),
              "_mixconv2d_backward: grad_out must have shape [", plan.n, ", ", plan.c, ", ", plan.h_out, ", ",
              plan.w_out, "], got ", grad_out.sizes());
  TORCH_CHECK(grad_out.scalar_type() == x.scalar_type() && grad_out.device() == x.device(),
              "_mixconv2d_backward: grad_out is ", grad_out.scalar_type(), " on ", grad_out.device(), " but x is ",
              x.scalar_type(), " on ", x.device());
}

}  // namespace mixdet

TORCH_LIBRARY(mixdet, m) {
  m.def("mixconv2d(Tensor x, Tensor[] weights, int[] pads, int stride, int dilation) -> Tensor");
  m.def(
      "_mixconv2d_backward(Tensor grad_out, Tensor x, Tensor[] weights, int[] pads, int stride, int dilation, "
      "bool[2] output_mask) -> (Tensor, Tensor)");
  m.def(
      "_cuda_launch_plan(int[] x_shape, int[] channels, int[] kernels, int[] pads, int stride, int dilation, "
      "ScalarType dtype) -> str",
      &mixdet::cuda_launch_plan);
}
