"""Whole MixNet-S/M/L with the fused MixConv op against the split/conv/cat reference, forward and every gradient.

Initialised weights and random BatchNorm statistics (eval mode, so BatchNorm is a fixed affine map) keep the
activations and gradients at working magnitudes; a 160 px input runs both CPU forward kernels (output width
>= 20 at stride 4-8, < 20 deeper) and every stride-2 layer.
"""
import pytest
import torch

from mixdet.models.backbones import MixNet
from mixdet.testing.batchnorm import randomize_batchnorm


def rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
def test_mixnet_fused_matches_reference(arch, monkeypatch):
    torch.manual_seed(0)
    model = MixNet(arch=arch, out_indices=(1, 3, 5))
    model.init_weights()
    randomize_batchnorm(model, seed=1)
    model.eval()
    x = torch.randn(2, 3, 160, 160)
    results = {}
    for impl in ('reference', 'fused'):
        monkeypatch.setenv('MIXDET_MIXCONV_IMPL', impl)
        model.zero_grad()
        outs = model(x)
        sum(o.square().mean() for o in outs).backward()
        results[impl] = [o.detach() for o in outs], {n: p.grad.clone() for n, p in model.named_parameters()}
    (ref_outs, ref_grads), (outs, grads) = results['reference'], results['fused']
    for out, ref in zip(outs, ref_outs):
        assert ref.abs().mean() > 0.05 and rel(out, ref) < 1e-5
    depthwise = [n for n in ref_grads if '.conv_dw.' in n]
    assert len(depthwise) > 20
    for name, ref in ref_grads.items():
        assert ref.norm() > 1e-6, f"{name}: gradient too small to compare"
        assert rel(grads[name], ref) < 1e-4, name
