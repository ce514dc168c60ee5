"""MixConv drop-in configs: mmdet's SSDLite-MobileNetV2 with only the backbone wrapped; a detector loss step trains
through the fused op, in float32 and under bfloat16 autocast."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import get_installed_path

from mixdet.layers import MixedConv2d
from mixdet.registry import MODELS
from mixdet.testing.batches import synthetic_batch

from conftest import REPO

MMDET_CONFIG = 'ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'  # the _base_ of PLAIN ('mmdet::...')
COCO_DIR = REPO / 'configs/ssdlite_mobilenetv2_mixconv'
PLAIN = REPO / 'configs/ssdlite_mixnet/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
MIXCONV357 = COCO_DIR / 'ssdlite_mobilenetv2-mixconv357-scratch_8xb24-600e_coco.py'
init_default_scope('mmdet')


def without_scope(value):
    """A config value without the ``_scope_`` keys that inheriting from ``mmdet::`` adds."""
    if isinstance(value, dict):
        return {k: without_scope(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(without_scope(v) for v in value)
    return value


def as_dict(path):
    return without_scope(Config.fromfile(path).to_dict())


def test_plain_baseline_is_mmdets_config_with_mixdets_fixes():
    mmdet = as_dict(Path(get_installed_path('mmdet'), '.mim/configs', MMDET_CONFIG))
    ours = as_dict(PLAIN)
    assert ours.pop('custom_imports') == dict(imports=['mixdet.modules'], allow_failed_imports=False)
    assert ours['model']['bbox_head'].pop('type') == 'MixdetSSDHead' and mmdet['model']['bbox_head'].pop('type')
    assert ours['train_dataloader'].pop('drop_last') is True and 'drop_last' not in mmdet['train_dataloader']
    assert ours.pop('runner_type') == 'MixdetRunner' and 'runner_type' not in mmdet
    assert ours['env_cfg']['dist_cfg'].pop('timeout') == 1800
    assert ours['default_hooks'].pop('checkpoint') == dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3,
                                                           save_best='auto')
    mmdet['default_hooks'].pop('checkpoint')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = ours[loader]['dataset'].get('dataset', ours[loader]['dataset'])
        assert dataset.pop('type') == 'CheckedCocoDataset'
        mmdet_dataset = mmdet[loader]['dataset'].get('dataset', mmdet[loader]['dataset'])
        assert mmdet_dataset.pop('type') == 'CocoDataset'
    assert ours.pop('dataset_type') == 'CheckedCocoDataset' and mmdet.pop('dataset_type') == 'CocoDataset'
    for evaluator in ('val_evaluator', 'test_evaluator'):
        assert ours[evaluator].pop('type') == 'CheckedCocoMetric' and mmdet[evaluator].pop('type') == 'CocoMetric'
    mmdet_hooks = mmdet.pop('custom_hooks')  # DataCheckHook does NumClassCheckHook's check, and more, earlier
    assert mmdet_hooks[0] == dict(type='NumClassCheckHook')
    assert ours.pop('custom_hooks') == [dict(type='DataCheckHook'), *mmdet_hooks[1:]]
    assert ours == mmdet


@pytest.mark.parametrize('plain,mixconv,kernel_sizes', [
    (PLAIN, 'ssdlite_mobilenetv2-mixconv35-scratch_8xb24-600e_coco.py', (3, 5)),
    (PLAIN, MIXCONV357.name, (3, 5, 7)),
    (PLAIN, 'ssdlite_mobilenetv2-mixconv3579-scratch_8xb24-600e_coco.py', (3, 5, 7, 9)),
    (REPO / 'configs/shapes/ssdlite_mobilenetv2_1xb8-1k_shapes.py',
     REPO / 'configs/shapes/ssdlite_mobilenetv2-mixconv357_1xb8-1k_shapes.py', (3, 5, 7)),
])
def test_mixconv_configs_wrap_only_the_backbone(plain, mixconv, kernel_sizes):
    plain, mixed = as_dict(plain), as_dict(COCO_DIR / mixconv)
    assert mixed['model'].pop('backbone') == dict(type='MixConvBackbone', backbone=plain['model'].pop('backbone'),
                                                  kernel_sizes=kernel_sizes, layers='all')
    assert mixed == plain


@pytest.mark.parametrize('autocast', [False, True])
def test_detector_loss_step_through_the_fused_op(monkeypatch, autocast):
    monkeypatch.setenv('MIXDET_MIXCONV_IMPL', 'fused')  # an error instead of a silent fallback
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(MIXCONV357).model)
    model.init_weights()
    model.train()
    images, samples = synthetic_batch(128, 2, num_classes=80, boxes=2)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        losses = model.loss(images, samples)
    total = sum(sum(v) if isinstance(v, list) else v for v in losses.values())
    assert torch.isfinite(total)
    total.float().backward()
    grads = [conv.weight.grad for m in model.backbone.modules() if isinstance(m, MixedConv2d) for conv in m]
    assert len(grads) == 17 * 3
    assert all(g is not None and g.dtype == torch.float32 and torch.isfinite(g).all() and g.abs().sum() > 0
               for g in grads)
