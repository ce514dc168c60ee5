"""Launch plans of the CUDA kernels (mixdet.ops.cuda_launch_plan, the C++ planning of every build) at every
MixNet-S/M/L depthwise layer at 320x320: the bounds the kernels were reworked for hold, without a GPU.

P1: the dW reduction runs on many CTAs, no thread adds long chains; P3: balanced tiles compute (almost)
only useful outputs; P7: the partial dW workspace stays bounded.
"""
import pytest
import torch

from mixdet.archs import MIXNET_ARCHS, decode_arch, depthwise_layers
from mixdet.ops import cuda_launch_plan, split_channels

MIB = 2**20
LAYERS = [(arch, layer) for arch in 'sml' for layer in depthwise_layers(decode_arch(MIXNET_ARCHS[arch]), 320, 320)]


def plan_of(layer, batch, dtype=torch.float32, padding='same'):
    return cuda_launch_plan((batch, layer.channels, layer.height, layer.width), layer.kernels, stride=layer.stride,
                            padding=padding, dtype=dtype)


@pytest.mark.parametrize('batch', [32, 256])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16, torch.float64], ids=str)
def test_mixnet_layers_at_320(batch, dtype):
    for arch, layer in LAYERS:
        plan = plan_of(layer, batch, dtype)
        where = f'MixNet-{arch.upper()} {layer}, N={batch}, {dtype}'
        assert plan['supported'], where
        fwd, bwd = plan['forward'], plan['backward']
        w_out = (layer.width - 1) // layer.stride + 1
        # P3: strips of 4 columns, so only planes whose width is no multiple of 4 compute extra outputs.
        waste = fwd['computed_outputs'] / fwd['useful_outputs']
        assert waste == 1 if w_out % 4 == 0 else waste <= 1.2, (where, waste)
        # P7: the fp32 (fp64) partial weight gradients stay within the budget.
        assert bwd['workspace_bytes'] <= 32 * MIB, (where, bwd['workspace_bytes'])
        # P1: short chains of additions, and many CTAs unless there is little to add.
        weights = sum(c * k * k for c, k in zip(split_channels(layer.channels, len(layer.kernels)), layer.kernels))
        reduce = bwd['kernels']['reduce_rows_kernel']
        assert reduce['ctas'] >= min(400, bwd['partial_rows'] * weights // 4096), (where, reduce)
        assert bwd['reduce_serial_sums'] <= 48, (where, bwd['reduce_serial_sums'])
        for kernel in list(fwd['kernels'].values()) + list(bwd['kernels'].values()):
            assert kernel['smem_bytes'] <= 48 * 1024 and kernel['grid'][0] < 2**31 and kernel['grid'][1] < 2**16


def test_review_cases():
    """The layers the kernel review measured: before, an 80-wide plane computed 128 columns, the first layer's
    dW was reduced by 1 CTA summing 7,680 values per thread, and the partials took 505 MB / 66 MB."""
    first = cuda_launch_plan((256, 16, 160, 160), [3])['backward']
    assert first['kernels']['reduce_rows_kernel']['ctas'] >= 100 and first['reduce_serial_sums'] <= 48
    wide80 = cuda_launch_plan((32, 240, 80, 80), [3, 5, 7])['forward']
    assert wide80['tile'][1] == 40 and wide80['computed_outputs'] == wide80['useful_outputs']
    stress = cuda_launch_plan((64, 1152, 160, 160), [3, 5, 7, 9, 11])['backward']
    assert stress['workspace_bytes'] <= 32 * MIB and stress['items_per_cta'] > 1
    large = cuda_launch_plan((256, 1584, 10, 10), [3, 5, 7, 9])['backward']
    assert large['workspace_bytes'] <= 32 * MIB


def test_unsupported_calls_say_why():
    assert cuda_launch_plan((1, 13, 8, 8), [13]) == {
        'supported': False, 'reason': 'kernel sizes 1, 3, 5, 7, 9 and 11 are compiled, got 13'}
    assert not cuda_launch_plan((1, 9, 8, 8), [3] * 9)['supported']
    assert 'stride' in cuda_launch_plan((1, 4, 8, 8), [3], stride=3)['reason']


def test_layer_table_matches_the_built_backbone():
    """depthwise_layers (used above) agrees with the depthwise convs MixNet builds, shapes taken by hooks."""
    from mixdet.models.backbones import MixNet
    for arch in 'sml':
        model = MixNet(arch=arch, out_indices=(5,)).eval()
        seen = []
        for stage in model.blocks:
            for block in stage:
                conv = block.conv_dw
                kernels = tuple(m.weight.shape[-1] for m in conv) if isinstance(conv, torch.nn.ModuleList) \
                    else (conv.weight.shape[-1],)
                conv.register_forward_hook(lambda m, i, o, k=kernels: seen.append(
                    (i[0].shape[1], i[0].shape[2], i[0].shape[3], k, (i[0].shape[2] + 1) // o.shape[2])))
        with torch.no_grad():
            model(torch.zeros(1, 3, 320, 320))
        expected = [(x.channels, x.height, x.width, x.kernels, x.stride)
                    for x in depthwise_layers(decode_arch(MIXNET_ARCHS[arch]), 320, 320)]
        assert seen == expected
