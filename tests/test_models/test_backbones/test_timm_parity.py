"""Exact parity with timm's MixNets after weight conversion.

timm cannot be imported beside the CPU torch build (it imports torchvision), so the reference
is geffnet 1.0.2, timm's pure-PyTorch predecessor by the same author: same ``mixnet_*`` /
``tf_mixnet_*`` models, same state_dict keys, same outputs. Weights and BatchNorm statistics are
random because no weight hub is reachable.
"""
import subprocess
import sys

import geffnet
import pytest
import torch
from safetensors.torch import save_file

from mixdet.models.backbones import MixNet
from mixdet.models.backbones.mixnet_timm import convert_timm_mixnet

from conftest import REPO

TAPS = (0, 1, 2, 3, 4, 'stage5_expansion', 5, 6)


def random_reference(name: str, seed: int) -> torch.nn.Module:
    """A geffnet MixNet with random weights and random BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = getattr(geffnet, name)(pretrained=False)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def reference_taps(model, x):
    """Outputs of every stage, of the stage-5 first block's expansion, and of the head (in TAPS order)."""
    captured = {}
    hook = model.blocks[5][0].act1.register_forward_hook(lambda m, i, o: captured.setdefault('exp', o.clone()))
    outs = []
    x = model.act1(model.bn1(model.conv_stem(x)))
    for stage in model.blocks:
        x = stage(x)
        outs.append(x)
    hook.remove()
    head = model.act2(model.bn2(model.conv_head(x)))
    return (*outs[:5], captured['exp'], outs[5], head)


def convert_to_file(reference, tmp_path, suffix):
    path = tmp_path / f'timm{suffix}'
    state = {k: v.contiguous() for k, v in reference.state_dict().items()}
    if suffix == '.safetensors':
        save_file(state, str(path))
    else:
        torch.save(state, path)
    dst = tmp_path / 'mixdet.pth'
    subprocess.run([sys.executable, str(REPO / 'tools/model_converters/convert_timm_mixnet.py'), str(path), str(dst)],
                   check=True, capture_output=True, text=True, timeout=300)
    return dst


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
@pytest.mark.parametrize('tf_variant', [False, True], ids=['mixnet', 'tf_mixnet'])
def test_converted_weights_reproduce_timm(arch, tf_variant, tmp_path):
    name = f"{'tf_' if tf_variant else ''}mixnet_{arch}"
    reference = random_reference(name, seed=len(name))
    checkpoint = convert_to_file(reference, tmp_path, '.safetensors' if tf_variant else '.pth')
    model = MixNet(arch=arch, out_indices=TAPS, padding='same' if tf_variant else 'symmetric',
                   norm_cfg=dict(type='BN', eps=1e-3 if tf_variant else 1e-5),
                   init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint)))
    model.init_weights()
    model.eval()
    timm_params = sum(p.numel() for n, p in reference.named_parameters() if not n.startswith('classifier'))
    assert sum(p.numel() for p in model.parameters()) == timm_params
    x = torch.randn(2, 3, 96, 80)
    with torch.no_grad():
        expected, got = reference_taps(reference, x), model(x)
    for tap, e, g in zip(TAPS, expected, got):
        assert g.shape == e.shape, tap
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5, msg=lambda m: f'tap {tap}: {m}')


def test_converted_keys_load_strictly_and_classifier_is_dropped():
    reference = random_reference('mixnet_m', seed=1)
    state, arch = convert_timm_mixnet(reference.state_dict())
    assert arch == 'm' and not any(k.startswith('classifier') for k in state)
    MixNet(arch='m', out_indices=(6, )).load_state_dict(state, strict=True)


def test_param_counts_match_the_spec():
    # docs/mixnet-architecture.md section 4: timm classifier parameter counts minus the 1536 x 1000 FC.
    for arch, total in (('s', 4_134_606), ('m', 5_014_382), ('l', 7_329_252)):
        model = MixNet(arch=arch, out_indices=(6, ))
        assert sum(p.numel() for p in model.parameters()) == total - 1536 * 1000 - 1000


def test_converter_rejects_other_architectures(tmp_path):
    state = random_reference('mixnet_s', seed=2).state_dict()
    state['blocks.5.0.conv_pw.weight'] = torch.zeros(1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"resnet.pth does not match MixNet-S, -M or -L .*blocks.5.0.conv_pw"):
        convert_timm_mixnet(state, source='resnet.pth')
    with pytest.raises(ValueError, match='not a timm MixNet checkpoint'):
        convert_timm_mixnet({'fc.weight': torch.zeros(2, 2)}, source='x.pth')


def test_converter_cli_names_a_missing_file(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / 'tools/model_converters/convert_timm_mixnet.py'),
                             str(tmp_path / 'nope.pth'), str(tmp_path / 'out.pth')], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0 and 'nope.pth' in result.stderr


def test_pretrained_of_another_variant_is_refused(tmp_path):
    checkpoint = convert_to_file(random_reference('mixnet_m', seed=3), tmp_path, '.pth')
    model = MixNet(arch='s', out_indices=(5, ), init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint)))
    with pytest.raises(ValueError, match=r'mixdet.pth does not fit MixNet .*another architecture'):
        model.init_weights()


def test_pretrained_without_head_ignores_head_weights(tmp_path):
    reference = random_reference('mixnet_s', seed=4)
    checkpoint = convert_to_file(reference, tmp_path, '.pth')
    model = MixNet(arch='s', out_indices=(5, ), init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint)))
    model.init_weights()
    torch.testing.assert_close(model.blocks[5][0].conv_dw[4].weight, reference.blocks[5][0].conv_dw['4'].weight)
