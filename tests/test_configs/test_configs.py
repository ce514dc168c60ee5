"""Every shipped config builds and runs; widths follow the backbone; mistakes fail at build time naming the value."""
import copy
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mixdet.models.backbones import MixNet
from mixdet.models.detectors.ssdlite import resolve_widths
from mixdet.registry import MODELS

from conftest import REPO

CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)
init_default_scope('mmdet')


def load(name):
    return Config.fromfile(REPO / name)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_config_builds_and_runs_a_forward_pass(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model).eval()
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        features = model.extract_feat(x)
        cls_scores, bbox_preds = model._forward(x)
    head = model.bbox_head
    assert len(cls_scores) == len(bbox_preds) == 6
    assert cls_scores[0].shape[1] == head.num_base_priors[0] * (head.num_classes + 1)
    assert tuple(f.shape[1] for f in features) == tuple(head.in_channels)


@pytest.mark.parametrize('name,backbone,channels', [
    ('ssdlite_mixnet/ssdlite_mixnet-s-scratch_8xb24-600e_coco.py', 'MixNet-S', (720, 1536)),
    ('ssdlite_mixnet/ssdlite_mixnet-m-scratch_8xb24-600e_coco.py', 'MixNet-M', (720, 1536)),
    ('ssdlite_mixnet/ssdlite_mixnet-l-scratch_8xb24-600e_coco.py', 'MixNet-L', (960, 1536)),
    ('ssdlite_mixnet/ssdlite_mixnet-s_8xb24-600e_coco.py', 'MixNet-S', (720, 1536)),
    ('ssdlite_mixnet/ssdlite_mixnet-m_8xb24-600e_coco.py', 'MixNet-M', (720, 1536)),
    ('ssdlite_mixnet/ssdlite_mixnet-l_8xb24-600e_coco.py', 'MixNet-L', (960, 1536)),
    ('ssdlite_mixnet/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py', 'MobileNetV2', (96, 1280)),
    ('shapes/ssdlite_mixnet-s_1xb8-1k_shapes.py', 'MixNet-S', (40, 120, 1536)),
])
def test_each_config_builds_its_named_backbone(name, backbone, channels):
    model = MODELS.build(load(f'configs/{name}').model).eval()
    built = MixNet.variant_of(model.backbone.state_dict()) or type(model.backbone).__name__
    assert built == backbone
    with torch.no_grad():
        taps = model.backbone(torch.randn(1, 3, 64, 64))
    assert tuple(t.shape[1] for t in taps) == channels == tuple(model.bbox_head.in_channels)[:len(channels)]


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
def test_pretrained_configs_differ_from_scratch_in_the_backbone_weights_only(arch):
    pretrained = load(f'configs/ssdlite_mixnet/ssdlite_mixnet-{arch}_8xb24-600e_coco.py').to_dict()
    scratch = load(f'configs/ssdlite_mixnet/ssdlite_mixnet-{arch}-scratch_8xb24-600e_coco.py').to_dict()
    init_cfg = pretrained['model']['backbone'].pop('init_cfg')
    assert init_cfg == dict(type='Pretrained', checkpoint=pretrained.pop('checkpoint'))
    assert re.fullmatch(rf'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/'
                        rf'mixnet_{arch}-[0-9a-f]{{8}}\.pth', init_cfg['checkpoint'])
    assert pretrained['model']['backbone'].pop('norm_cfg') == dict(type='BN', eps=1e-5, momentum=0.03)  # timm's eps
    scratch['model']['backbone'].pop('init_cfg'), scratch['model']['backbone'].pop('norm_cfg')
    assert pretrained == scratch


@pytest.mark.parametrize('backbone,expected', [
    (dict(arch='m'), (720, 1536)),
    (dict(arch='l'), (960, 1536)),
    (dict(arch='l', out_indices=(4, 5)), (160, 264)),
    (dict(_delete_=True, type='MobileNetV2', out_indices=(4, 7)), (96, 1280)),
])
def test_swapping_the_backbone_is_one_change(backbone, expected):
    cfg = load('configs/ssdlite_mixnet/ssdlite_mixnet-s-scratch_8xb24-600e_coco.py')
    cfg.merge_from_dict(dict(model=dict(backbone=backbone)))
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        taps = model.backbone(torch.randn(1, 3, 64, 64))
        model._forward(torch.randn(1, 3, 64, 64))
    assert tuple(t.shape[1] for t in taps) == expected
    assert tuple(model.bbox_head.in_channels)[:2] == expected


def test_mismatched_neck_channels_name_the_expected_ones():
    cfg = load('configs/ssdlite_mixnet/ssdlite_mixnet-l-scratch_8xb24-600e_coco.py')
    cfg.model.neck.in_channels = (720, 1536)
    with pytest.raises(ValueError, match=r'neck.in_channels=\(720, 1536\).*channels \(960, 1536\)'):
        MODELS.build(cfg.model)


def test_resolve_widths_checks_head_and_explicit_levels():
    neck = dict(in_channels=None, out_channels=(None, None, 512))
    with pytest.raises(ValueError, match=r'bbox_head.in_channels=\(1, 2, 3\) does not match'):
        resolve_widths((40, 80), neck, dict(in_channels=(1, 2, 3)))
    with pytest.raises(ValueError, match=r'neck.out_channels\[1\]=81 must equal the backbone channels 80'):
        resolve_widths((40, 80), dict(in_channels=None, out_channels=(None, 81, 512)), {})
    original = copy.deepcopy(neck)
    resolved, head = resolve_widths((40, 80), neck, dict(in_channels=None))
    assert resolved['out_channels'] == (40, 80, 512) and head['in_channels'] == (40, 80, 512)
    assert neck == original


def test_unknown_config_key_and_type_are_named():
    cfg = load('configs/ssdlite_mixnet/ssdlite_mixnet-s-scratch_8xb24-600e_coco.py')
    bad_key = copy.deepcopy(cfg.model)
    bad_key.backbone.widen = 2
    with pytest.raises(TypeError, match="unexpected keyword argument 'widen'"):
        MODELS.build(bad_key)
    bad_type = copy.deepcopy(cfg.model)
    bad_type.backbone.type = 'MixNetXL'
    with pytest.raises(KeyError, match='MixNetXL is not in the'):
        MODELS.build(bad_type)


def test_ssd_head_predicts_boxes():
    from mmdet.structures import DetDataSample
    cfg = load('configs/shapes/ssdlite_mixnet-s_1xb8-1k_shapes.py')
    cfg.model.test_cfg.score_thr = 0.0
    model = MODELS.build(cfg.model).eval()
    sample = DetDataSample(metainfo=dict(img_shape=(96, 96), ori_shape=(96, 96), scale_factor=(1.0, 1.0)))
    with torch.no_grad():
        result = model.predict(torch.randn(1, 3, 96, 96), [sample])[0]
    boxes = result.pred_instances.bboxes
    assert boxes.ndim == 2 and boxes.shape[1] == 4 and len(boxes) > 0
    assert result.pred_instances.labels.max() < 6


@pytest.mark.parametrize('path, baseline', [
    *[(f'configs/ssdlite_mixnet/ssdlite_mixnet-{a}-scratch_8xb24-600e_coco.py',
       'configs/ssdlite_mixnet/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py') for a in 'sml'],
    *[(f'configs/ssdlite_mobilenetv2_mixconv/ssdlite_mobilenetv2-mixconv{k}-scratch_8xb24-600e_coco.py',
       'configs/ssdlite_mixnet/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py') for k in ('35', '357', '3579')],
    ('configs/shapes/ssdlite_mobilenetv2_1xb8-1k_shapes.py', 'configs/shapes/ssdlite_mixnet-s_1xb8-1k_shapes.py'),
    ('configs/shapes/ssdlite_mobilenetv2-mixconv357_1xb8-1k_shapes.py',
     'configs/shapes/ssdlite_mobilenetv2_1xb8-1k_shapes.py'),
], ids=lambda p: Path(p).stem)
def test_backbone_configs_inherit_everything_but_the_model(path, baseline):
    """A backbone comparison changes the backbone only: schedule, optimizer, data and hooks are the baseline's."""
    config, reference = load(path).to_dict(), load(baseline).to_dict()
    config.pop('model'), reference.pop('model')
    assert config == reference
