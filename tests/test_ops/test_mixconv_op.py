"""The compiled MixConv op (torch.ops.mixdet.mixconv2d) against the split/conv/cat reference.

CPU tests always run (a missing extension fails them). CUDA tests run where a GPU and the CUDA kernels
are present and are skipped elsewhere with the reason.
"""
import random
import warnings

import pytest
import torch

from mixdet.archs import MIXNET_ARCHS, decode_arch, depthwise_layers
from mixdet.ops import _loader, backend, mixconv2d, mixconv2d_reference, split_channels
from mixdet.ops.mixconv import cuda_limits

# The distinct mixed-kernel depthwise layers of MixNet-S/M/L, (channels, kernels, stride), from the arch tables; the
# spatial size is left to the test (MixNet-L's 1584 channels split into groups of 396, its 624 into 156).
MIXNET_LAYERS = [(channels, list(kernels), stride) for channels, kernels, stride in dict.fromkeys(
    (layer.channels, layer.kernels, layer.stride)
    for arch in ('s', 'm', 'l') for layer in depthwise_layers(decode_arch(MIXNET_ARCHS[arch]), 224, 224)
    if len(layer.kernels) > 1)]
KERNEL_SETS = [[3], [3, 5], [3, 5, 7], [3, 5, 7, 9], [3, 5, 7, 9, 11]]
# On a machine with a GPU the CUDA tests run, and fail if mixdet was built without CUDA kernels
# (test_cuda_kernels_are_built_where_a_gpu_is): no skip hides a missing CUDA build.
requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU (none on this machine)')


def make_case(channels, kernels, size, batch=2, dtype=torch.float64, device='cpu', splits=None, seed=0):
    """Random input [batch, channels, size, size] and kernels [C_i, 1, k_i, k_i] (TF split unless given)."""
    gen = torch.Generator().manual_seed(seed)
    splits = splits or split_channels(channels, len(kernels))
    x = torch.randn(batch, channels, size, size, generator=gen, dtype=torch.float64)
    weights = [torch.randn(c, 1, k, k, generator=gen, dtype=torch.float64) / k for c, k in zip(splits, kernels)]
    return x.to(device, dtype), [w.to(device, dtype) for w in weights]


def poison(numel, dtype, device):
    """Leave NaNs in memory the allocator is likely to hand out next (the CUDA caching allocator reuses it)."""
    for scale in (1, 2):
        garbage = torch.full((numel * scale,), float('nan'), dtype=dtype, device=device)
        del garbage


def check_against_reference(x, weights, stride, padding, atol, rtol, bias=None, grads=True):
    """Fused forward (and input/weight gradients) vs the reference; outputs poisoned before each call."""
    ref_in = [t.detach().double().requires_grad_(grads) for t in [x] + weights]
    expected = mixconv2d_reference(ref_in[0], ref_in[1:], None if bias is None else bias.double(), stride, padding)
    fused_in = [t.detach().clone().requires_grad_(grads) for t in [x] + weights]
    poison(expected.numel(), x.dtype, x.device)
    out = mixconv2d(fused_in[0], fused_in[1:], bias, stride, padding, impl='fused')
    assert out.shape == expected.shape and out.dtype == x.dtype
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    assert out.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    torch.testing.assert_close(out.double(), expected, atol=atol, rtol=rtol)
    if grads:
        grad = torch.randn_like(expected).to(x.dtype).double()  # representable in x.dtype
        expected_grads = torch.autograd.grad(expected, ref_in, grad)
        poison(x.numel(), x.dtype, x.device)
        got = torch.autograd.grad(out, fused_in, grad.to(out.dtype))
        for g, e in zip(got, expected_grads):
            torch.testing.assert_close(g.double(), e, atol=atol * 4, rtol=rtol)


@requires_cuda
def test_cuda_kernels_are_built_where_a_gpu_is():
    assert _loader.has_kernel('cuda'), 'torch sees a GPU but mixdet.ops._C has no CUDA kernels: rebuild with nvcc'
    assert backend('cuda') == 'cuda-fused'


def test_extension_is_built_and_selected():
    assert _loader.LOAD_ERROR is None, _loader.LOAD_ERROR
    assert _loader.has_kernel('cpu')
    assert backend('cpu') == 'cpu-fused'
    assert backend('cpu', impl='reference') == 'reference'


@pytest.mark.parametrize('kernels', KERNEL_SETS)
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('padding', ['symmetric', 'same'])
@pytest.mark.parametrize('size', [7, 15, 16, 17])
def test_matches_reference_float64(kernels, stride, padding, size):
    x, weights = make_case(3 * len(kernels) + 2, kernels, size, batch=2)  # uneven split
    check_against_reference(x, weights, stride, padding, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize('channels,kernels,stride,padding', [
    (*layer, ('symmetric', 'same')[index % 2]) for index, layer in enumerate(MIXNET_LAYERS)])
def test_mixnet_layers_float64(channels, kernels, stride, padding):
    x, weights = make_case(channels, kernels, 7 if channels > 300 else 9, batch=1)
    check_against_reference(x, weights, stride, padding, atol=1e-10, rtol=1e-10)


def test_random_shapes_and_splits_float64():
    rng = random.Random(0)
    for seed in range(25):
        kernels = rng.choice(KERNEL_SETS)
        splits = [rng.randint(1, 6) for _ in kernels]
        height, width, batch = rng.randint(1, 23), rng.randint(1, 23), rng.randint(1, 3)
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(batch, sum(splits), height, width, generator=gen, dtype=torch.float64)
        weights = [torch.randn(c, 1, k, k, generator=gen, dtype=torch.float64) for c, k in zip(splits, kernels)]
        check_against_reference(x, weights, rng.choice([1, 2, 3]), rng.choice(['symmetric', 'same']),
                                atol=1e-10, rtol=1e-10)


def test_channels_last_noncontiguous_bias_and_dilation():
    x, weights = make_case(20, [3, 5, 7], 15, batch=3)
    check_against_reference(x.contiguous(memory_format=torch.channels_last), weights, 2, 'same', 1e-10, 1e-10)
    check_against_reference(x[:, :, 1:, :-2], weights, 1, 'symmetric', 1e-10, 1e-10)  # strided view
    wide, _ = make_case(20, [3, 5, 7], 45, batch=1)
    check_against_reference(wide.contiguous(memory_format=torch.channels_last), weights, 2, 'same', 1e-10, 1e-10)
    bias = torch.randn(20, dtype=torch.float64)
    check_against_reference(x, weights, 1, 'symmetric', 1e-10, 1e-10, bias=bias)
    for padding in ('symmetric', 'same'):
        expected = mixconv2d_reference(x, weights, None, 2, padding, dilation=2)
        torch.testing.assert_close(mixconv2d(x, weights, None, 2, padding, dilation=2, impl='fused'), expected)


@pytest.mark.parametrize('dtype,tol', [(torch.float32, 1e-4), (torch.bfloat16, 3e-2), (torch.float16, 3e-3)])
def test_low_precision_cpu(dtype, tol):
    for size in (14, 41):  # output width < 20 and >= 20 take different CPU kernels
        x, weights = make_case(40, [3, 5, 7, 9], size, batch=2, dtype=dtype)
        check_against_reference(x, weights, 1, 'same', atol=tol, rtol=tol)
        check_against_reference(x, weights, 2, 'symmetric', atol=tol, rtol=tol)


def test_gradcheck_float64():
    x, weights = make_case(5, [3, 5], 5, batch=1)
    inputs = [t.requires_grad_() for t in [x] + weights]
    for stride, padding in [(1, 'symmetric'), (2, 'same')]:
        assert torch.autograd.gradcheck(lambda x, *w: mixconv2d(x, list(w), None, stride, padding, impl='fused'),
                                        inputs, fast_mode=True)
    x_only = [x] + [w.detach() for w in weights]
    assert torch.autograd.gradcheck(lambda x, *w: mixconv2d(x, list(w), None, 2, 'same', impl='fused'), x_only,
                                    fast_mode=True)


def test_opcheck():
    x, weights = make_case(9, [3, 5, 7], 9, batch=2)
    args = ([0, 0, 1, 1, 2, 2], 2, 1)
    torch.library.opcheck(torch.ops.mixdet.mixconv2d.default,
                          (x.requires_grad_(), [w.requires_grad_() for w in weights], *args))
    torch.library.opcheck(torch.ops.mixdet.mixconv2d.default,  # some weights without gradient
                          (x, [weights[0].detach(), weights[1], weights[2].detach()], *args))
    grad = torch.randn(2, 9, 5, 5, dtype=torch.float64)
    for mask in ([True, True], [True, False], [False, True]):
        torch.library.opcheck(torch.ops.mixdet._mixconv2d_backward.default,
                              (grad, x.detach(), [w.detach() for w in weights], *args, mask))


def test_weight_gradients_are_views_of_one_buffer():
    """The backward returns dW packed; autograd hands each group a view of it (no per-call packing or copy)."""
    x, weights = make_case(9, [3, 5, 7], 9, batch=2)
    weights = [w.requires_grad_() for w in weights]
    grads = torch.autograd.grad(mixconv2d(x, weights, impl='fused').sum(), weights)
    assert len({g.untyped_storage().data_ptr() for g in grads}) == 1
    assert [g.shape for g in grads] == [w.shape for w in weights]


@pytest.mark.parametrize('compile_backend', ['aot_eager', 'inductor'])  # inductor compiles C++: ~20 s
def test_torch_compile_fullgraph(compile_backend):
    x, weights = make_case(12, [3, 5, 7], 15, batch=2, dtype=torch.float32)
    compiled = torch.compile(lambda x, w0, w1, w2: mixconv2d(x, [w0, w1, w2], None, 2, 'same', impl='fused'),
                             fullgraph=True, backend=compile_backend)
    x.requires_grad_()
    out = compiled(x, *weights)
    torch.testing.assert_close(out, mixconv2d_reference(x, weights, None, 2, 'same'))
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_the_cuda_limits_trace_as_a_constant_under_torch_compile():
    """On CUDA every call asks the C++ planner for its limits; its answer (a string) must not break fullgraph."""
    compiled = torch.compile(lambda x: x + 1 if cuda_limits((3, 5, 7), 2, 1) is None else x,
                             fullgraph=True, backend='eager')
    torch.testing.assert_close(compiled(torch.zeros(3)), torch.ones(3))


def test_needs_input_grad_and_no_double_backward():
    x, weights = make_case(6, [3, 5], 8)
    w0 = weights[0].requires_grad_()
    out = mixconv2d(x, [w0, weights[1]], None, 1, 'symmetric', impl='fused')
    (gw0,) = torch.autograd.grad(out.sum(), [w0])
    torch.testing.assert_close(gw0, torch.autograd.grad(mixconv2d_reference(x, [w0, weights[1]]).sum(), [w0])[0])
    x.requires_grad_()
    out = mixconv2d(x, weights, None, 1, 'symmetric', impl='fused')
    (gx,) = torch.autograd.grad(out.sum(), [x], create_graph=True)
    with pytest.raises(RuntimeError, match='double backward'):
        gx.sum().backward()


@pytest.mark.parametrize('bad,error,match', [
    (dict(input='x'), TypeError, 'input must be a torch.Tensor'),
    (dict(weights=[]), ValueError, 'at least one kernel'),
    (dict(stride=0), ValueError, 'stride'),
    (dict(padding='valid'), ValueError, 'padding'),
    (dict(weights=[torch.randn(4, 1, 3, 3)]), ValueError, 'cover 4 channels'),
    (dict(weights=[torch.randn(6, 1, 4, 4)]), ValueError, 'even kernel'),
    (dict(weights=[torch.randn(6, 1, 3, 3, dtype=torch.float64)]), TypeError, 'dtype'),
])
def test_bad_arguments_raise_like_the_reference(bad, error, match):
    args = dict(input=torch.randn(1, 6, 8, 8), weights=[torch.randn(6, 1, 3, 3)], stride=1, padding='symmetric')
    args.update(bad)
    for fn in (mixconv2d, mixconv2d_reference):
        with pytest.raises(error, match=match):
            fn(args['input'], args['weights'], None, args['stride'], args['padding'])


def test_op_checks_its_arguments():
    x, w = torch.randn(1, 6, 8, 8), torch.randn(6, 1, 3, 3)
    with pytest.raises(RuntimeError, match='cover 5 channels'):
        torch.ops.mixdet.mixconv2d(x, [w[:5]], [1, 1], 1, 1)
    with pytest.raises(RuntimeError, match=r'weights\[1\] must be \[C_g, 1, k, k\]'):
        torch.ops.mixdet.mixconv2d(x, [w[:3], w[3:, :, :2]], [1, 1, 1, 1], 1, 1)
    with pytest.raises(RuntimeError, match=r'weights\[0\] dtype'):
        torch.ops.mixdet.mixconv2d(x, [w.double()], [1, 1], 1, 1)
    with pytest.raises(RuntimeError, match='pads'):
        torch.ops.mixdet.mixconv2d(x, [w], [3, 1], 1, 1)
    with pytest.raises(RuntimeError, match='grad_out must have shape'):
        torch.ops.mixdet._mixconv2d_backward(x, x, [w], [1, 1], 2, 1, [True, True])


def test_impl_selection_and_visible_fallback(monkeypatch):
    with pytest.raises(ValueError, match='impl'):
        mixconv2d(torch.randn(1, 3, 4, 4), [torch.randn(3, 1, 3, 3)], impl='fast')
    if not _loader.has_kernel('cuda'):
        with pytest.raises(RuntimeError, match='no cuda kernel'):
            backend('cuda', impl='fused')
    monkeypatch.setenv('MIXDET_MIXCONV_IMPL', 'reference')
    assert backend('cpu') == 'reference'
    monkeypatch.delenv('MIXDET_MIXCONV_IMPL')
    # A device without a fused kernel ('meta') runs the reference after one warning.
    x, weights = torch.empty(1, 6, 8, 8, device='meta'), [torch.empty(6, 1, 3, 3, device='meta')]
    with pytest.raises(RuntimeError, match='cannot run on meta'):
        mixconv2d(x, weights, impl='fused')
    monkeypatch.setattr('mixdet.ops.mixconv._warned', set())
    with pytest.warns(RuntimeWarning, match='pure-PyTorch reference on meta'):
        assert mixconv2d(x, weights).shape == (1, 6, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        mixconv2d(x, weights)  # warned once only


@requires_cuda
@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-10), (torch.float32, 1e-4), (torch.bfloat16, 3e-2),
                                       (torch.float16, 3e-3)])
@pytest.mark.parametrize('channels,kernels,stride', MIXNET_LAYERS + [(11, [3], 1), (13, [11, 3], 2)])
def test_cuda_matches_reference(dtype, tol, channels, kernels, stride):
    for size, padding in [(7, 'symmetric'), (17, 'same'), (40, 'same')]:
        x, weights = make_case(channels, kernels, size, batch=3, dtype=dtype, device='cuda')
        check_against_reference(x, weights, stride, padding, atol=tol, rtol=tol)
    check_against_reference(x.contiguous(memory_format=torch.channels_last), weights, stride, 'same', tol, tol)


@requires_cuda
def test_cuda_random_shapes_gradcheck_opcheck_and_determinism():
    rng = random.Random(1)
    for seed in range(20):
        kernels = rng.sample([1, 3, 5, 7, 9, 11], rng.randint(1, 5))
        splits = [rng.randint(1, 20) for _ in kernels]
        x, weights = make_case(sum(splits), kernels, rng.randint(1, 70), batch=rng.randint(1, 3),
                               device='cuda', splits=splits, seed=seed)
        check_against_reference(x, weights, rng.choice([1, 2]), rng.choice(['symmetric', 'same']), 1e-10, 1e-10)
    x, weights = make_case(7, [3, 5], 6, device='cuda')
    inputs = [t.requires_grad_() for t in [x] + weights]
    assert torch.autograd.gradcheck(lambda x, *w: mixconv2d(x, list(w), None, 2, 'same', impl='fused'), inputs)
    torch.library.opcheck(torch.ops.mixdet.mixconv2d.default,
                          (x, [w.detach().requires_grad_() for w in weights], [0, 0, 1, 1], 2, 1))
    x, weights = make_case(720, [3, 5, 7, 9, 11], 20, batch=8, dtype=torch.float32, device='cuda')
    grad = torch.randn(8, 720, 10, 10, device='cuda')
    args = (x, weights, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5], 2, 1, [True, True])
    first = torch.ops.mixdet._mixconv2d_backward(grad, *args)
    second = torch.ops.mixdet._mixconv2d_backward(grad, *args)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1]), 'backward is not deterministic'


@requires_cuda
def test_cuda_limits_fall_back_or_raise(monkeypatch):
    monkeypatch.setattr('mixdet.ops.mixconv._warned', set())
    too_large = make_case(6, [13], 9, device='cuda')
    too_many = make_case(18, [3] * 9, 9, device='cuda')
    for x, weights in (too_large, too_many):
        with pytest.raises(RuntimeError, match='the CUDA kernels do not take this call'):
            mixconv2d(x, weights, impl='fused')
        with pytest.warns(RuntimeWarning, match='reference'):
            torch.testing.assert_close(mixconv2d(x, weights), mixconv2d_reference(x, weights))


def test_the_cuda_limits_are_the_planners():
    """mixconv2d asks the C++ planner which calls the CUDA kernels take (any build, no GPU needed)."""
    for layer in MIXNET_LAYERS:
        assert cuda_limits(tuple(layer[1]), layer[2], 1) is None, layer
    for kernels, stride, dilation, reason in [((3, ) * 9, 1, 1, 'at most 8 groups, got 9'),
                                              ((3, 13), 2, 1, 'kernel sizes 1, 3, 5, 7, 9 and 11 are compiled'),
                                              ((3, 5), 3, 1, 'stride must be 1 or 2, got 3'),
                                              ((3, ), 1, 2, 'dilation must be 1, got 2')]:
        assert reason in cuda_limits(kernels, stride, dilation), (kernels, stride, dilation)


def test_cpu_auto_rule_runs_reference_for_fp32_inference(monkeypatch):
    calls = []
    from mixdet.ops.mixconv_reference import split_conv_cat
    monkeypatch.setattr('mixdet.ops.mixconv.split_conv_cat', lambda *a: calls.append(a) or split_conv_cat(*a))
    x, weights = make_case(12, [3, 5], 14, dtype=torch.float32)
    mixconv2d(x, weights)  # float32, no grad: split/conv/cat
    mixconv2d(make_case(12, [3, 5], 40, dtype=torch.float32)[0], weights)  # wide too
    assert len(calls) == 2
    mixconv2d(x.requires_grad_(), weights)  # needs a gradient: fused
    with torch.no_grad():
        mixconv2d(x.detach().bfloat16(), [w.bfloat16() for w in weights])  # bfloat16: fused
    mixconv2d(x.detach().double(), [w.double() for w in weights])  # float64: fused
    assert len(calls) == 2


def test_cpu_auto_rule_reads_no_grad_as_inference(monkeypatch):
    """A model evaluated under torch.no_grad() (its weights still require gradients) takes the inference choice."""
    calls = []
    from mixdet.ops.mixconv_reference import split_conv_cat
    monkeypatch.setattr('mixdet.ops.mixconv.split_conv_cat', lambda *a: calls.append(a) or split_conv_cat(*a))
    x, weights = make_case(12, [3, 5], 14, dtype=torch.float32)
    weights = [w.requires_grad_() for w in weights]
    with torch.no_grad():
        mixconv2d(x, weights)
    assert len(calls) == 1
    mixconv2d(x, weights)  # the same call with gradients on: the fused op
    assert len(calls) == 1


@pytest.mark.parametrize('dilation', [2 ** 40, 2 ** 31, 10 ** 6])
def test_a_huge_dilation_is_one_line_or_the_reference(dilation):
    x, weights = make_case(8, [3], 8, dtype=torch.float32)
    with pytest.raises(RuntimeError, match=rf'^mixconv2d\(impl="fused"\) cannot run on cpu: dilation={dilation} '):
        mixconv2d(x, weights, dilation=dilation, impl='fused')
    with pytest.warns(RuntimeWarning, match='reference'):
        out = mixconv2d(x.requires_grad_(), weights, dilation=dilation)  # 'auto': split/conv/cat
    torch.testing.assert_close(out, mixconv2d_reference(x, weights, dilation=dilation))
