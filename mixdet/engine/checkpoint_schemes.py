"""mmengine's own checkpoint loading, through mixdet's data-only reader, for every scheme mmengine knows.

mmengine reads ``load_from``, the ``Pretrained`` init of any module (backbone, neck or head, single or in a
list), ``Runner.resume`` and ``mmdet.apis.init_detector`` through ``CheckpointLoader``, whose URL loader
unpickles with code allowed (torch.hub's ``load_state_dict_from_url`` defaults to ``weights_only=False``) and
leaves the file in the hub cache. Importing mixdet replaces each registered scheme:

* local paths and ``http(s)://`` URLs: :func:`mixdet.checkpoint.read_source` (data only, cached downloads);
* model-zoo names (``torchvision://``, ``modelzoo://``, ``open-mmlab://``, ``openmmlab://``, ``mmcls://``):
  resolved to their URL or file by mmengine's own tables, then read the same way;
* storage that mixdet cannot read as data here (``pavi://``, ``s3://``, ``petrel://``, any scheme another
  package registered): refused in one line.

Configuration text in ``meta['config']`` is dropped on reading, since mmengine's ``Runner.resume`` would
evaluate it as Python.
"""
from __future__ import annotations

import logging
import os.path as osp
from typing import Any

from mmengine.logging import print_log
from mmengine.runner.checkpoint import (CheckpointLoader, _get_mmengine_home, _process_mmcls_checkpoint,
                                        get_deprecated_model_names, get_external_models, get_mmcls_models,
                                        get_torchvision_models)

from mixdet.checkpoint import CheckpointError, is_url, read_source

_ZOO_TABLES = {'torchvision': get_torchvision_models, 'modelzoo': get_torchvision_models,
               'open-mmlab': get_external_models, 'openmmlab': get_external_models, 'mmcls': get_mmcls_models}
_UNCHECKED_STORAGE = ('pavi://', r'(\S+\:)?s3://', r'(\S+\:)?petrel://')


def _without_config_text(checkpoint: dict, source: str) -> dict:
    meta = checkpoint.get('meta')
    if isinstance(meta, dict) and meta.pop('config', None) is not None:
        print_log(f'checkpoint {source} carries configuration text in meta["config"]; it is dropped (never '
                  f'evaluated)', logger='current', level=logging.WARNING)
    return checkpoint


def load_from_source(filename: str, map_location: Any = None) -> dict:
    """A local path or an ``http(s)://`` URL, read as data."""
    return _without_config_text(read_source(filename, map_location), filename)


def zoo_location(filename: str) -> str:
    """The URL (or file under mmengine's home) that a model-zoo name such as ``open-mmlab://name`` stands for."""
    scheme, name = filename.split('://', 1)
    if scheme in ('open-mmlab', 'openmmlab'):
        name = get_deprecated_model_names().get(name, name)
    table = _ZOO_TABLES[scheme]()
    if name not in table:
        raise CheckpointError(f'checkpoint {filename}: {name!r} is not a model name known to mmengine ({scheme}://)')
    location = table[name]
    return location if is_url(location) else osp.join(_get_mmengine_home(), location)


def load_from_zoo(filename: str, map_location: Any = None) -> dict:
    """A model-zoo name, resolved by mmengine's tables and read as data (mmcls weights as mmengine adapts them)."""
    checkpoint = load_from_source(zoo_location(filename), map_location)
    return _process_mmcls_checkpoint(checkpoint) if filename.startswith('mmcls://') else checkpoint


def load_from_unchecked_storage(filename: str, map_location: Any = None) -> dict:
    raise CheckpointError(f'checkpoint {filename}: mixdet reads checkpoints only from local files and http(s) URLs '
                          f'(as data); copy it to a local file first')


def install() -> None:
    """Register mixdet's loaders for every prefix of mmengine's CheckpointLoader (replacing mmengine's); a prefix
    that another package registered is refused too, rather than read by a loader mixdet cannot vouch for."""
    others = [prefix for prefix in CheckpointLoader._schemes
              if prefix not in ('', 'http://', 'https://', *_UNCHECKED_STORAGE) and prefix[:-3] not in _ZOO_TABLES]
    CheckpointLoader.register_scheme(['', 'http://', 'https://'], load_from_source, force=True)
    CheckpointLoader.register_scheme([f'{scheme}://' for scheme in _ZOO_TABLES], load_from_zoo, force=True)
    CheckpointLoader.register_scheme([*_UNCHECKED_STORAGE, *others], load_from_unchecked_storage, force=True)


install()
