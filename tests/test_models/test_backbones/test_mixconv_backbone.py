"""MixConvBackbone: depthwise convs of any backbone replaced by MixConv, same function from pretrained weights."""
import pytest
import torch
from mmcv.cnn.bricks import Conv2dAdaptivePadding
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mixdet.layers import MixedConv2d
from mixdet.models.backbones import MixConvBackbone
from mixdet.models.backbones.depthwise_swap import find_depthwise, swap_depthwise
from mixdet.models.backbones.kernel_embed import embed_depthwise_state
from mixdet.ops import split_channels
from mixdet.ops.complexity import count_macs, count_params
from mixdet.registry import MODELS

# mmdet's MobileNetV2: (expand ratio, channels, blocks, stride) per layer; one depthwise 3x3 per block.
MOBILENETV2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
               (6, 320, 1, 1)]
MBV2 = dict(type='MobileNetV2', out_indices=(1, 2, 4, 7))


def mobilenetv2_depthwise():
    """(channels, stride) of each depthwise conv of MobileNetV2, from its architecture table."""
    layers, in_channels = [], 32
    for expand, channels, blocks, stride in MOBILENETV2:
        for i in range(blocks):
            layers.append((in_channels * expand, stride if i == 0 else 1))
            in_channels = channels
    return layers


def randomized(model, seed=0):
    """``model`` with random weights and BatchNorm statistics, in eval mode (so that outputs depend on all)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                noise = torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype)
                tensor.copy_(noise + 0.5 if name.endswith('running_var') else (noise - 0.5) * 0.4)
    model.eval()  # mmdet's MobileNetV2.train() returns None
    return model


def pretrained(tmp_path, plain):
    path = tmp_path / 'plain.pth'
    torch.save(dict(state_dict=plain.state_dict()), path)
    return dict(type='Pretrained', checkpoint=str(path))


def wrap(backbone=MBV2, **kwargs):
    return MixConvBackbone(backbone=dict(backbone), **kwargs)


def test_every_depthwise_conv_of_mobilenetv2_is_replaced():
    expected = mobilenetv2_depthwise()
    model = wrap(kernel_sizes=(3, 5, 7))
    mixed = [m for m in model.modules() if isinstance(m, MixedConv2d)]
    assert len(expected) == 17 and len(model.replaced) == len(mixed) == 17
    assert not list(find_depthwise(model.backbone))
    assert [(m.in_channels, m.stride) for m in mixed] == expected
    for m, (channels, _) in zip(mixed, expected):
        assert m.kernel_sizes == (3, 5, 7) and m.padding_rule == 'symmetric'
        assert [tuple(conv.weight.shape) for conv in m] == [(c, 1, k, k)
                                                            for c, k in zip(split_channels(channels, 3), (3, 5, 7))]
    assert set(model.replaced.values()) == {3}
    assert model.replaced['layer2.0.depthwise_conv.conv'] == 3


def test_mixconv_adds_only_the_larger_kernels_params_and_macs():
    """What tools/analysis_tools/get_flops.py reports for the configs: extra = sum over the depthwise layers of
    (sum_i C_i k_i^2 - 9 C) weights, each used once per output pixel."""
    size, extra_params, extra_macs = 320 // 2, 0, 0  # MobileNetV2's stem conv has stride 2
    for channels, stride in mobilenetv2_depthwise():
        size = -(-size // stride)
        extra = sum(c * k * k for c, k in zip(split_channels(channels, 3), (3, 5, 7))) - 9 * channels
        extra_params, extra_macs = extra_params + extra, extra_macs + extra * size * size
    plain, model = MODELS.build(MBV2), wrap(kernel_sizes=(3, 5, 7))
    assert count_params(model) - count_params(plain) == extra_params == 133_168
    assert count_macs(model, 320, 320) - count_macs(plain, 320, 320) == extra_macs == 86_732_800


# mmdet's EfficientNet-B0 (TF 'same' padding through Conv2dAdaptivePadding): (kernel, blocks) per stage,
# one depthwise conv per block.
EFFICIENTNET_B0 = [(3, 1), (3, 2), (5, 2), (3, 3), (5, 3), (5, 4), (3, 1)]
EFFNET = dict(type='EfficientNet', arch='b0', out_indices=(2, 4, 6))


def test_every_depthwise_conv_of_efficientnet_is_replaced_with_same_padding():
    model = wrap(EFFNET, kernel_sizes=(3, 5))
    assert list(model.replaced.values()) == [k for k, blocks in EFFICIENTNET_B0 for _ in range(blocks)]
    mixed = [m for m in model.modules() if isinstance(m, MixedConv2d)]
    assert len(mixed) == 16 and {m.padding_rule for m in mixed} == {'same'}
    assert not list(find_depthwise(model.backbone))


def test_centre_embedded_pretrained_weights_reproduce_efficientnet(tmp_path):
    plain = randomized(MODELS.build(EFFNET)).double()
    model = wrap(dict(EFFNET, init_cfg=pretrained(tmp_path, plain)), kernel_sizes=(5, 7))
    model.init_weights()
    model.double().eval()
    x = torch.randn(1, 3, 41, 38, dtype=torch.float64)
    with torch.no_grad():
        for a, b in zip(model(x), plain(x)):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('layers,count', [('stride2', 4), ('stride1', 13),
                                          (['layer1.0.depthwise_conv.conv', 'layer7.0.depthwise_conv.conv'], 2)])
def test_layers_selects_by_stride_or_name(layers, count):
    model = wrap(layers=layers)
    assert len(model.replaced) == count
    strides = {m.stride for m in model.modules() if isinstance(m, MixedConv2d)}
    remaining = list(find_depthwise(model.backbone))
    assert len(remaining) == 17 - count
    if layers == 'stride2':
        assert strides == {2} and {c.stride for _, c in remaining} == {(1, 1)}
    elif layers == 'stride1':
        assert strides == {1} and {c.stride for _, c in remaining} == {(2, 2)}
    else:
        assert list(model.replaced) == layers


def test_kernel_3_reproduces_mobilenetv2_bit_for_bit_in_float64(tmp_path, monkeypatch):
    plain = randomized(MODELS.build(MBV2)).double()
    model = wrap(dict(MBV2, init_cfg=pretrained(tmp_path, plain)), kernel_sizes=(3, ))
    model.init_weights()
    model.double().eval()
    x = torch.randn(1, 3, 41, 37, dtype=torch.float64)
    with torch.no_grad():
        expected = plain(x)
        monkeypatch.setenv('MIXDET_MIXCONV_IMPL', 'reference')  # the very F.conv2d call of the plain layer
        outs = model(x)
        assert len(outs) == len(expected) == 4
        assert all(torch.equal(a, b) for a, b in zip(outs, expected))
        # The fused op sums the 9 products in its own order: equal to the last bits of float64, not bitwise.
        monkeypatch.setenv('MIXDET_MIXCONV_IMPL', 'fused')
        for a, b in zip(model(x), expected):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('kernel_sizes', [(3, 5), (3, 5, 7), (3, 5, 7, 9), (5, 7)])
def test_centre_embedded_pretrained_weights_reproduce_mobilenetv2(tmp_path, monkeypatch, kernel_sizes):
    monkeypatch.setenv('MIXDET_MIXCONV_IMPL', 'fused')
    plain = randomized(MODELS.build(MBV2)).double()
    model = wrap(dict(MBV2, init_cfg=pretrained(tmp_path, plain)), kernel_sizes=kernel_sizes)
    model.init_weights()
    model.double().eval()
    group = model.backbone.layer2[0].depthwise_conv.conv
    original = plain.layer2[0].depthwise_conv.conv.weight
    assert torch.equal(group[0].weight[..., 1:-1, 1:-1] if kernel_sizes[0] == 5 else group[0].weight,
                       original[:group[0].weight.shape[0]])
    assert group[-1].weight[..., 0, :].abs().sum() == 0  # the ring outside the 3x3 centre starts at zero
    x = torch.randn(1, 3, 41, 37, dtype=torch.float64)
    with torch.no_grad():
        for a, b in zip(model(x), plain(x)):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_prefix_of_a_detector_checkpoint_and_init_cfg_lists(tmp_path):
    plain = randomized(MODELS.build(MBV2))
    path = tmp_path / 'detector.pth'
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in plain.state_dict().items()}), path)
    init_cfg = [dict(type='Pretrained', checkpoint=str(tmp_path / 'missing.pth')),  # the last Pretrained wins
                dict(type='Constant', layer='Conv2d', val=1),
                dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')]
    model = wrap(dict(MBV2, init_cfg=init_cfg))
    model.init_weights()
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(x), plain(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_pretrained_errors_name_layer_and_file(tmp_path):
    plain = randomized(MODELS.build(MBV2))
    init_cfg = pretrained(tmp_path, plain)
    with pytest.raises(ValueError, match=r'layer1.0.depthwise_conv.conv: a pretrained 3x3 depthwise kernel does not '
                                         r'fit its 1x1 MixConv group; kernel_sizes must all be >= 3'):
        wrap(dict(MBV2, init_cfg=init_cfg), kernel_sizes=(1, 3)).init_weights()
    state = plain.state_dict()
    del state['layer3.1.depthwise_conv.conv.weight']
    torch.save(state, tmp_path / 'partial.pth')
    with pytest.raises(ValueError, match=r'partial.pth has no tensor for layer3.1.depthwise_conv.conv.weight'):
        wrap(dict(MBV2, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'partial.pth')))).init_weights()
    state['layer3.1.depthwise_conv.conv.weight'] = torch.zeros(192, 1, 5, 5)
    torch.save(state, tmp_path / 'other.pth')
    with pytest.raises(ValueError, match=r'other.pth has shape \(192, 1, 5, 5\) for layer3.1.depthwise_conv.conv.'
                                         r'weight, the depthwise kernel of shape \(192, 1, 3, 3\)'):
        wrap(dict(MBV2, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'other.pth')))).init_weights()


def test_other_init_cfg_reaches_the_mixconv_groups():
    model = wrap(dict(MBV2, init_cfg=dict(type='Constant', layer='Conv2d', val=0.5)))
    model.init_weights()
    assert all(torch.all(conv.weight == 0.5) for m in model.modules() if isinstance(m, MixedConv2d) for conv in m)


def test_wrapper_forwards_arguments_and_attributes():
    model = wrap(out_indices=(2, 7), frozen_stages=2, norm_eval=True,
                 init_cfg=dict(type='Constant', layer='Conv2d', val=1))
    inner = model.backbone
    assert (inner.out_indices, inner.frozen_stages, inner.norm_eval) == ((2, 7), 2, True)
    assert model.out_indices == (2, 7) and model.frozen_stages == 2 and model.norm_eval
    assert model.init_cfg == dict(type='Constant', layer='Conv2d', val=1) and model.out_channel == 1280
    assert not hasattr(model, 'no_such_attribute')
    assert model.train() is model
    frozen = [m for name, m in inner.named_modules() if isinstance(m, MixedConv2d) and name < 'layer3']
    assert len(frozen) == 3 and all(not p.requires_grad for m in frozen for p in m.parameters())
    assert model.backbone.layer3[0].depthwise_conv.conv[0].weight.requires_grad
    assert not any(m.training for m in model.modules() if isinstance(m, _BatchNorm))
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [32, 1280]


def test_train_step_with_the_fused_op(monkeypatch):
    monkeypatch.setenv('MIXDET_MIXCONV_IMPL', 'fused')
    model = wrap().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    group = model.backbone.layer4[0].depthwise_conv.conv[2]
    before = group.weight.detach().clone()
    loss = sum(o.square().mean() for o in model(torch.randn(2, 3, 64, 64)))
    loss.backward()
    assert group.weight.grad is not None and group.weight.grad.abs().sum() > 0
    optimizer.step()
    assert not torch.equal(group.weight, before)


def test_train_step_under_autocast(monkeypatch):
    monkeypatch.setenv('MIXDET_MIXCONV_IMPL', 'fused')
    model = wrap().train()
    mixconv_dtypes = []
    for m in model.modules():
        if isinstance(m, MixedConv2d):
            m.register_forward_hook(lambda module, args, out: mixconv_dtypes.append(out.dtype))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = model(torch.randn(2, 3, 64, 64))
    assert mixconv_dtypes == [torch.bfloat16] * 17  # MixConv runs in the autocast dtype, as convolutions do
    assert all(o.dtype == torch.bfloat16 for o in outs)
    sum(o.float().square().mean() for o in outs).backward()
    grads = [conv.weight.grad for m in model.modules() if isinstance(m, MixedConv2d) for conv in m]
    assert all(g is not None and g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)


class Tiny(nn.Module):
    """Depthwise convs that a swap cannot keep, one per attribute, next to one it can."""

    def __init__(self, **conv):
        super().__init__()
        self.ok = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.bad = nn.Conv2d(8, 8, **{**dict(kernel_size=3, padding=1, groups=8, bias=False), **conv})


@pytest.mark.parametrize('conv,match', [
    (dict(dilation=2, padding=2), r'bad has dilation \(2, 2\); MixConv drop-in keeps dilation 1 only'),
    (dict(kernel_size=4), r'bad has kernel \(4, 4\); MixConv needs a square odd kernel'),
    (dict(kernel_size=(3, 5), padding=(1, 2)), r'bad has kernel \(3, 5\)'),
    (dict(padding=0), r'bad is a Conv2d with padding \(0, 0\) \(zeros\); MixConv keeps zero padding k // 2'),
    (dict(padding_mode='reflect'), r'bad is a Conv2d with padding \(1, 1\) \(reflect\)'),
    (dict(bias=True), 'bad has a bias, which MixedConv2d does not have'),
    (dict(stride=(1, 2)), r'bad has stride \(1, 2\)'),
])
def test_layers_it_cannot_keep_are_refused(conv, match):
    model = Tiny(**conv)
    with pytest.raises(ValueError, match=match):
        swap_depthwise(model, (3, 5), 'all')
    assert isinstance(model.ok, nn.Conv2d) and not isinstance(model.ok, MixedConv2d)  # nothing half-swapped


def test_replacement_keeps_mode_freezing_device_and_dtype():
    model = Tiny().double()
    model.bad.eval().requires_grad_(False)
    swap_depthwise(model, (3, 5), 'all')
    assert isinstance(model.bad, MixedConv2d) and not model.bad.training and model.ok.training
    assert [p.requires_grad for p in model.bad.parameters()] == [False, False]
    assert all(p.requires_grad and p.dtype == torch.float64 for p in model.ok.parameters())


def test_mixconv_layers_are_not_swapped_again():
    with pytest.raises(ValueError, match="layers='all' selects no depthwise conv of MixConvBackbone"):
        wrap(dict(type='MixConvBackbone', backbone=MBV2))


def same_padded(*kernels_and_strides):
    return nn.Sequential(*[Conv2dAdaptivePadding(6, 6, k, stride=s, groups=6, bias=False)
                           for k, s in kernels_and_strides]).double()


@pytest.mark.parametrize('size', [(15, 16), (16, 15)])
def test_tf_same_padding_is_kept_and_embeds_exactly(size):
    model = same_padded((3, 2), (5, 1))
    state = randomized(model).state_dict()
    x = torch.randn(2, 6, *size, dtype=torch.float64)
    expected = model(x)
    replaced = swap_depthwise(model, (5, 7, 9), 'all')
    assert replaced == {'0': 3, '1': 5} and model[0].padding_rule == model[1].padding_rule == 'same'
    assert (model[0].stride, model[1].stride) == (2, 1)
    model.load_state_dict(embed_depthwise_state(state, model, replaced, 'weights.pth'))
    torch.testing.assert_close(model(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('kwargs,match', [
    (dict(kernel_sizes=(3, 4)), r'kernel_sizes must be a non-empty sequence of odd positive ints, got \(3, 4\)'),
    (dict(kernel_sizes=()), r'kernel_sizes must be .* got \(\)'),
    (dict(kernel_sizes=3), 'kernel_sizes must be .* got 3'),
    (dict(layers='stride3'), r"layers must be one of \('all', 'stride1', 'stride2'\) .* got 'stride3'"),
    (dict(layers=['layer1.0.conv.0']), r"layers entry 'layer1.0.conv.0' is not a depthwise conv of MobileNetV2"),
    (dict(layers=[]), 'non-empty list of distinct module names, got'),
    (dict(kernel_sizes=tuple(range(1, 67, 2))), r'layer1.0.depthwise_conv.conv has 32 channels, fewer than the 33'),
])
def test_bad_arguments_are_one_sentence(kwargs, match):
    with pytest.raises(ValueError, match=match):
        wrap(**kwargs)


def test_falsy_overrides_are_forwarded_too():
    """0, False and an empty init_cfg list are settings, not 'not given'."""
    model = wrap(backbone=dict(MBV2, frozen_stages=3, norm_eval=True), frozen_stages=0, norm_eval=False, init_cfg=[])
    inner = model.backbone
    assert (inner.frozen_stages, inner.norm_eval, inner.init_cfg) == (0, False, [])
    model.train()
    assert all(m.training for m in model.modules() if isinstance(m, _BatchNorm))


def test_norm_eval_reaches_sync_batchnorm():
    model = wrap(backbone=dict(MBV2, norm_cfg=dict(type='SyncBN')), norm_eval=True).train()
    sync = [m for m in model.modules() if isinstance(m, nn.SyncBatchNorm)]
    assert sync and not any(m.training for m in sync)
