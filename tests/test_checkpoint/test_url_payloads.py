"""Nothing runs from any URL or file, through any path a config or tool offers.

A local HTTP server serves a checkpoint whose pickle calls ``eval`` (a marker file would appear). It is given to
every ``init_cfg`` form (single or list; MixNet, mmdet's MobileNetV2, a neck), to mmengine's ``load_checkpoint``
and its model-zoo names, to ``load_from`` and to the tools as a user would. Each is refused in one line naming the
URL, and nothing is left in the hub cache.
"""
import io

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.registry import DefaultScope
from mmengine.runner import CheckpointLoader, load_checkpoint

import mixdet.modules  # noqa: F401  (registers mixdet's modules and its checkpoint loaders)
from mixdet.checkpoint import CheckpointError
from mixdet.testing.http_server import serve
from mixdet.testing.mmengine_files import Evaluates, marker_code

from conftest import FAST, SHAPES_CONFIG, run_tool


@pytest.fixture
def evil_url(server, marker):
    buffer = io.BytesIO()
    torch.save({'state_dict': {}, 'meta': {'x': Evaluates(marker_code(marker))}}, buffer)
    return serve(server, '/weights/evil.pth', buffer.getvalue())


def refused(url):
    return pytest.raises(CheckpointError, match=f'^refusing to load checkpoint {url}: .*\\(builtins.eval\\)')


def pretrained(url, **kwargs):
    return dict(type='Pretrained', checkpoint=url, **kwargs)


@pytest.mark.parametrize('form', ['mixnet-dict', 'mixnet-list', 'mobilenetv2-dict', 'mobilenetv2-list', 'neck'])
def test_every_init_cfg_form_refuses_a_payload(form, evil_url, hub):
    configs = {
        'mixnet-dict': dict(type='MixNet', arch='s', init_cfg=pretrained(evil_url)),
        'mixnet-list': dict(type='MixNet', arch='s', init_cfg=[pretrained(evil_url)]),
        'mobilenetv2-dict': dict(type='MobileNetV2', init_cfg=pretrained(evil_url)),
        'mobilenetv2-list': dict(type='MobileNetV2', init_cfg=[dict(type='Kaiming', layer='Conv2d'),
                                                               pretrained(evil_url)]),
        'neck': dict(type='SSDNeck', in_channels=(8, 16), out_channels=(8, 16, 8), level_strides=(2,),
                     level_paddings=(1,), l2_norm_scale=None, init_cfg=pretrained(evil_url, prefix='neck')),
    }
    with refused(evil_url), DefaultScope.overwrite_default_scope('mmdet'):
        MODELS.build(configs[form]).init_weights()
    assert not any(hub.rglob('*.pth')), 'a refused download must not stay in the cache'


@pytest.mark.parametrize('scheme', ['', 'http://', 'https://', 'torchvision://', 'open-mmlab://', 'mmcls://',
                                    's3://', 'pavi://', 'petrel://'])
def test_every_mmengine_scheme_goes_through_mixdets_reader(scheme):
    loader = CheckpointLoader._get_checkpoint_loader(f'{scheme}name')
    assert loader.__module__ == 'mixdet.engine.checkpoint_schemes', (scheme, loader)


def test_mmengine_load_checkpoint_refuses_a_payload(evil_url):
    with refused(evil_url):
        load_checkpoint(torch.nn.Linear(1, 1), evil_url)


def test_storage_mixdet_cannot_check_is_refused_in_one_line():
    with pytest.raises(CheckpointError, match=r'^checkpoint s3://bucket/w.pth: mixdet reads checkpoints only from'):
        load_checkpoint(torch.nn.Linear(1, 1), 's3://bucket/w.pth')


def test_the_train_tool_refuses_a_payload_url_in_any_init_cfg(evil_url, shapes_root, tmp_path):
    """The attack of the report, as a user would type it (the model's init_cfg, and the loaded weights)."""
    common = ['--work-dir', tmp_path / 'work', '--cfg-options', f'data_root={shapes_root}/', *FAST]
    for options in (['model.init_cfg.type=Pretrained', f'model.init_cfg.checkpoint={evil_url}'],
                    [f'load_from={evil_url}']):
        result = run_tool('tools/train.py', SHAPES_CONFIG, *common, *options, check=False)
        last = result.stdout.strip().splitlines()[-1]
        assert result.returncode != 0 and 'Traceback' not in result.stdout, result.stdout[-3000:]
        assert last.startswith(f'refusing to load checkpoint {evil_url}: '), last
