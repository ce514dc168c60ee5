"""MixNet backbone: architecture as built, taps, and the MMDetection backbone contract."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mixdet.layers import GroupedConv2d, InvertedResidualBlock, MixedConv2d, SqueezeExcite
from mixdet.models.backbones import MixNet
from mixdet.registry import MODELS

ALL_TAPS = (0, 1, 2, 3, 4, 'stage5_expansion', 5, 6)
STRIDES = {0: 2, 1: 4, 2: 8, 3: 16, 4: 16, 'stage5_expansion': 16, 5: 32, 6: 32}
# docs/mixnet-architecture.md, sections 2 and 5.
CHANNELS = {
    's': (16, 24, 40, 80, 120, 720, 200, 1536),
    'm': (24, 32, 40, 80, 120, 720, 200, 1536),
    'l': (32, 40, 56, 104, 160, 960, 264, 1536),
}
NUM_BLOCKS = {'s': 16, 'm': 19, 'l': 19}


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
def test_taps_match_spec_and_forward(arch):
    model = MixNet(arch=arch, out_indices=ALL_TAPS).eval()
    assert model.out_indices == ALL_TAPS
    assert model.out_channels == CHANNELS[arch]
    assert model.out_strides == tuple(STRIDES[t] for t in ALL_TAPS)
    assert sum(len(stage) for stage in model.blocks) == NUM_BLOCKS[arch]
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 96))
    expected = [(c, 64 // s, 96 // s) for c, s in zip(model.out_channels, model.out_strides)]
    assert [tuple(o.shape[1:]) for o in outs] == expected


def test_mixnet_s_blocks_follow_the_tf_reference():
    model = MixNet(arch='s', out_indices=(5, ))
    # stage 5 block 0: 120 -> 200, mid 720, MixConv 3..11 (144 channels each), SE 60, plain 1x1s, no skip
    block = model.blocks[5][0]
    assert isinstance(block, InvertedResidualBlock) and not block.has_residual
    assert isinstance(block.conv_dw, MixedConv2d) and block.conv_dw.kernel_sizes == (3, 5, 7, 9, 11)
    assert [conv.weight.shape[0] for conv in block.conv_dw] == [144] * 5
    assert block.se.conv_reduce.out_channels == 60 and isinstance(block.act1, torch.nn.SiLU)
    # stage 4 block 1: grouped 1x1s in two groups, mid 360 split 90 x 4, skip
    block = model.blocks[4][1]
    assert isinstance(block.conv_pw, GroupedConv2d) and len(block.conv_pw) == 2 and block.has_residual
    assert [conv.weight.shape[0] for conv in block.conv_dw] == [90] * 4
    # stage 1 uses ReLU and no SE
    assert isinstance(model.blocks[1][0].act1, torch.nn.ReLU) and not isinstance(model.blocks[1][0].se, SqueezeExcite)


def test_output_order_does_not_depend_on_out_indices_order():
    model = MixNet(out_indices=(6, 'stage5_expansion', 2))
    assert model.out_indices == (2, 'stage5_expansion', 6)
    assert model.out_channels == (40, 720, 1536)


def test_head_is_built_only_when_requested():
    assert not hasattr(MixNet(out_indices=(5, )), 'conv_head')
    assert MixNet(out_indices=(6, )).conv_head.out_channels == 1536


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='xl'), "arch must be one of .* got 'xl'"),
    (dict(out_indices=(7, )), 'out_indices entry 7 is not a tap'),
    (dict(out_indices=('stage5', )), "out_indices entry 'stage5' is not a tap"),
    (dict(out_indices=()), 'non-empty'),
    (dict(out_indices=(2, 2)), 'duplicates'),
    (dict(frozen_stages=7), r'frozen_stages must be in range\(-1, 7\), got 7'),
    (dict(widen_factor=0), 'widen_factor must be a positive number, got 0'),
    (dict(padding='valid'), "padding must be one of .* got 'valid'"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MixNet(**kwargs)


def test_widen_factor_scales_blocks_not_head():
    model = MixNet(arch='s', widen_factor=2.0, out_indices=(0, 5, 6))
    assert model.out_channels == (32, 400, 1536)


@pytest.mark.parametrize('frozen', [0, 3])
def test_frozen_stages_stay_frozen_in_train_mode(frozen):
    model = MixNet(frozen_stages=frozen).train()
    frozen_modules = [model.conv_stem, model.bn1, *model.blocks[:frozen]]
    for module in frozen_modules:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    trainable = [*model.blocks[frozen:]]
    assert all(p.requires_grad for m in trainable for p in m.parameters())
    assert all(m.training for m in trainable[0].modules())


def test_norm_eval_keeps_statistics_fixed():
    model = MixNet(norm_eval=True).train()
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    before = model.bn1.running_mean.clone()
    model(torch.randn(2, 3, 32, 32))
    torch.testing.assert_close(model.bn1.running_mean, before)


def test_with_cp_recomputes_blocks_and_gives_same_outputs_and_gradients():
    torch.manual_seed(0)
    plain = MixNet(arch='s', out_indices=(2, 'stage5_expansion', 6))
    checkpointed = MixNet(arch='s', out_indices=(2, 'stage5_expansion', 6), with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    results = []
    for model in (plain, checkpointed):
        calls = []
        handles = [block.conv_dw.register_forward_hook(lambda *_: calls.append(1))  # every block has one
                   for stage in model.blocks for block in stage]
        model.train()
        outs = model(x.clone().requires_grad_())
        after_forward = len(calls)
        sum(o.square().mean() for o in outs).backward()
        for handle in handles:
            handle.remove()
        results.append((outs, {n: p.grad for n, p in model.named_parameters()}, after_forward, len(calls)))
    (outs, grads, forward_calls, calls), (cp_outs, cp_grads, cp_forward_calls, cp_calls) = results
    num_blocks = sum(len(stage) for stage in plain.blocks)
    assert forward_calls == calls == cp_forward_calls == num_blocks  # plain blocks run once
    assert cp_calls > cp_forward_calls  # checkpointed blocks run again during backward
    for out, cp_out in zip(outs, cp_outs):
        torch.testing.assert_close(cp_out, out)
    assert grads.keys() == cp_grads.keys()
    for name in grads:
        torch.testing.assert_close(cp_grads[name], grads[name], msg=name)


def test_registry_builds_from_a_config_dict_and_inits():
    model = MODELS.build(dict(type='MixNet', arch='m', out_indices=(4, 6)))
    assert isinstance(model, MixNet) and model.out_channels == (120, 1536)
    torch.nn.init.zeros_(model.bn1.weight)
    model.init_weights()  # default init_cfg: Kaiming convs, Constant(1) norms
    assert torch.all(model.bn1.weight == 1)


def test_init_cfg_is_applied():
    model = MixNet(arch='s', out_indices=(5, ), init_cfg=dict(type='Constant', layer='Conv2d', val=0.5, bias=0.))
    model.init_weights()
    assert torch.all(model.blocks[3][0].conv_dw[2].weight == 0.5) and torch.all(model.conv_stem.weight == 0.5)


def test_pretrained_missing_a_key_is_refused(tmp_path):
    state = MixNet(arch='s', out_indices=(5, )).state_dict()
    del state['blocks.3.0.conv_pw.weight']
    path = str(tmp_path / 'partial.pth')
    torch.save(state, path)
    model = MixNet(arch='s', out_indices=(5, ), init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(ValueError, match=r"partial.pth does not fit MixNet \(missing: \['blocks.3.0.conv_pw.weight'\]"):
        model.init_weights()


def test_norm_eval_reaches_sync_batchnorm():
    model = MixNet(norm_cfg=dict(type='SyncBN'), norm_eval=True).train()
    sync = [m for m in model.modules() if isinstance(m, torch.nn.SyncBatchNorm)]
    assert sync and not any(m.training for m in sync)
