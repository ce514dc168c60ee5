"""A whole SSDLite-MixNet-S loss step under CPU bfloat16 autocast, the mechanism of `tools/train.py --amp`."""
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mixdet.registry import MODELS
from mixdet.testing.batches import synthetic_batch

from conftest import REPO

init_default_scope('mmdet')


def loss_step(model, images, samples, autocast):
    model.zero_grad()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        losses = model.loss(images, samples)
    total = sum(v.float().sum() for v in losses.values() if isinstance(v, torch.Tensor)) + \
        sum(t.float().sum() for v in losses.values() if isinstance(v, list) for t in v)
    total.backward()
    return total.item(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}


def test_ssdlite_mixnet_s_loss_step_under_bfloat16_autocast():
    cfg = Config.fromfile(REPO / 'configs/ssdlite_mixnet/ssdlite_mixnet-s-scratch_8xb24-600e_coco.py')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    images, samples = synthetic_batch(160, 2, num_classes=80)
    _, grads = loss_step(model.train(), images, samples, autocast=True)
    assert len(grads) == sum(1 for _ in model.parameters())
    for name, grad in grads.items():
        assert grad.dtype == torch.float32 and torch.isfinite(grad).all(), name
    # Against float32 with BatchNorm as a fixed map: batch statistics of the 1x1 neck level over 2 images
    # would amplify bf16 rounding and hide real errors.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    loss32, grads32 = loss_step(model, images, samples, autocast=False)
    loss16, grads16 = loss_step(model, images, samples, autocast=True)
    assert abs(loss16 - loss32) / loss32 < 0.01, (loss16, loss32)
    flat16, flat32 = (torch.cat([g[n].flatten() for n in sorted(g)]) for g in (grads16, grads32))
    assert torch.nn.functional.cosine_similarity(flat16, flat32, dim=0) > 0.99
