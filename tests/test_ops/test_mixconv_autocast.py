"""MixConv inside torch.autocast follows convolution's rule (what `tools/train.py --amp` relies on).

CPU tests use bfloat16 and float16 autocast, the same mechanism as CUDA autocast; the CUDA tests run
where a GPU is and are skipped elsewhere with the reason.
"""
import pytest
import torch
import torch.nn.functional as F

from mixdet.ops import mixconv2d, mixconv2d_reference, split_channels

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU (none on this machine)')
LOW = [torch.bfloat16, torch.float16]
# Per-element tolerance of one low-precision conv against float64 math on the same rounded inputs.
TOL = {torch.bfloat16: 3e-2, torch.float16: 3e-3}


def make_case(channels=24, kernels=(3, 5, 7), size=17, device='cpu', seed=0):
    """float32 input [2, C, size, size] and float32 kernels that need gradients."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, channels, size, size, generator=gen)
    splits = split_channels(channels, len(kernels))
    weights = [torch.randn(c, 1, k, k, generator=gen) / k for c, k in zip(splits, kernels)]
    return x.to(device).requires_grad_(), [w.to(device).requires_grad_() for w in weights]


def rel_error(got: torch.Tensor, expected: torch.Tensor) -> float:
    return ((got.double() - expected.double()).norm() / expected.double().norm()).item()


def check_autocast_call(device, dtype, impl, stride, padding, input_dtype):
    """Output in ``dtype``, close to float64 math on the rounded inputs; float32 gradients close to float64 ones.

    ``input_dtype``: float32, or ``dtype`` as when the previous layer (a 1x1 conv) already ran under autocast.
    """
    x, weights = make_case(device=device)
    x = x.detach().to(input_dtype).requires_grad_()
    with torch.autocast(device, dtype=dtype):
        out = mixconv2d(x, weights, None, stride, padding, impl=impl)
    assert out.dtype == dtype
    rounded = [t.detach().to(dtype).double().requires_grad_() for t in [x] + weights]
    expected = mixconv2d_reference(rounded[0], rounded[1:], None, stride, padding)
    assert expected.abs().max() > 0.5  # a non-trivial output
    torch.testing.assert_close(out.double(), expected, atol=TOL[dtype], rtol=TOL[dtype])
    grad = torch.randn_like(expected).to(dtype)
    got = torch.autograd.grad(out, [x] + weights, grad)
    wanted = torch.autograd.grad(expected, rounded, grad.double())
    assert got[0].dtype == input_dtype and all(g.dtype == torch.float32 for g in got[1:])  # as the leaves
    for g, w in zip(got, wanted):
        assert torch.isfinite(g).all()
        assert rel_error(g, w) < 2 * TOL[dtype]


@pytest.mark.parametrize('dtype', LOW)
@pytest.mark.parametrize('impl', ['fused', 'reference'])
@pytest.mark.parametrize('stride,padding', [(1, 'symmetric'), (2, 'same')])
@pytest.mark.parametrize('low_precision_input', [False, True])
def test_mixconv2d_runs_in_the_autocast_dtype_with_float32_gradients(dtype, impl, stride, padding,
                                                                     low_precision_input):
    check_autocast_call('cpu', dtype, impl, stride, padding, dtype if low_precision_input else torch.float32)


@pytest.mark.parametrize('dtype', LOW)
def test_single_kernel_matches_autocast_conv2d(dtype):
    """One group is a depthwise conv: same dtype and values as F.conv2d under the same autocast."""
    x, (w,) = make_case(channels=16, kernels=(5,))
    with torch.autocast('cpu', dtype=dtype):
        expected = F.conv2d(x, w, None, 2, 2, groups=16)
        for impl in ('fused', 'reference'):
            out = mixconv2d(x, [w], None, 2, 'symmetric', impl=impl)
            assert out.dtype == expected.dtype == dtype
            torch.testing.assert_close(out, expected, atol=TOL[dtype], rtol=TOL[dtype])


@pytest.mark.parametrize('dtype', LOW)
def test_op_has_autocast_kernels(dtype):
    """torch.ops.mixdet.mixconv2d called directly casts like a convolution; the weight gradient stays float32."""
    x, weights = make_case()
    weights = [w.detach().requires_grad_() for w in weights]
    args = ([1, 1, 2, 2, 3, 3], 1, 1)
    with torch.autocast('cpu', dtype=dtype):
        out = torch.ops.mixdet.mixconv2d(x, weights, *args)
    assert out.dtype == dtype
    expected = torch.ops.mixdet.mixconv2d(x.detach().to(dtype), [w.detach().to(dtype) for w in weights], *args)
    assert torch.equal(out, expected)
    out.float().sum().backward()
    assert all(w.grad.dtype == torch.float32 for w in weights) and x.grad.dtype == torch.float32


def test_mismatches_outside_autocast_and_float64_inside_stay_errors():
    x, weights = make_case()
    with pytest.raises(TypeError, match='weights\\[0\\] has dtype torch.float32 but input has dtype torch.bfloat16'):
        mixconv2d(x.bfloat16(), weights)
    with torch.autocast('cpu', dtype=torch.bfloat16):  # autocast leaves float64 alone, as for conv2d
        with pytest.raises(TypeError, match='weights\\[0\\] has dtype torch.bfloat16 but input has dtype '
                                            'torch.float64'):
            mixconv2d(x.double(), weights)
        assert mixconv2d(x.double(), [w.double() for w in weights]).dtype == torch.float64


def test_autocast_of_another_device_type_changes_nothing():
    x, weights = make_case()
    with torch.autocast('cuda', dtype=torch.float16, enabled=torch.cuda.is_available()):
        assert mixconv2d(x, weights).dtype == torch.float32


def test_compiled_call_under_autocast():
    x, weights = make_case()
    compiled = torch.compile(lambda x, w0, w1, w2: mixconv2d(x, [w0, w1, w2], None, 2, 'same', impl='fused'),
                             fullgraph=True, backend='aot_eager')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = compiled(x, *weights)
        expected = mixconv2d(x, weights, None, 2, 'same', impl='fused')
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out, expected)
    out.float().sum().backward()
    assert all(w.grad.dtype == torch.float32 for w in weights)


@requires_cuda
@pytest.mark.parametrize('dtype', LOW)
@pytest.mark.parametrize('stride,padding', [(1, 'symmetric'), (2, 'same')])
def test_cuda_autocast(dtype, stride, padding):
    for input_dtype in (torch.float32, dtype):
        check_autocast_call('cuda', dtype, 'fused', stride, padding, input_dtype)


@pytest.mark.parametrize('impl', ['fused', 'reference'])
def test_a_bias_is_cast_with_the_input(impl):
    """Convolution's rule covers the bias: a float32 bias left as it is would promote the output back to float32."""
    x, weights = make_case()
    bias = torch.randn(x.shape[1], requires_grad=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = mixconv2d(x, weights, bias, impl=impl)
    assert out.dtype == torch.bfloat16
    out.float().sum().backward()
    assert bias.grad.dtype == torch.float32
    torch.testing.assert_close(bias.grad, torch.full_like(bias, out[0, 0].numel() * x.shape[0]), rtol=1e-2, atol=0)
