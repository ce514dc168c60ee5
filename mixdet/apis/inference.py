"""A detector from a config and a checkpoint, once for every tool (as mmdet's ``mmdet/apis/inference.py``).

:func:`init_config` reads a config and applies ``--cfg-options`` (checked: :mod:`mixdet.engine.cfg_options`);
:func:`init_detector` builds its model with a checkpoint read as data and loaded strictly
(:mod:`mixdet.checkpoint`). Errors are one line: :class:`ConfigError` naming the option,
:class:`CheckpointError` naming the file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from mixdet.checkpoint import load_checkpoint_strictly
from mixdet.engine.config_setup import apply_cfg_options
from mixdet.modules import register_all_modules


def init_config(config: Union[str, Path, Config], cfg_options: Optional[dict] = None) -> Config:
    """The config at ``config`` (or the Config itself) with ``cfg_options`` merged after checking them, mixdet's
    modules registered and the config's default scope set (mmdet's when it names none)."""
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    apply_cfg_options(cfg, cfg_options)
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return cfg


def _test_dataset_meta(cfg: Config) -> Optional[dict]:
    """The metainfo (classes, palette) of the config's test dataset, built without loading its annotations."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset')
    return None if dataset is None else DATASETS.build(dict(dataset, lazy_init=True)).metainfo


def init_detector(config: Union[str, Path, Config], checkpoint: Optional[str] = None,
                  cfg_options: Optional[dict] = None, device: str = 'cpu') -> torch.nn.Module:
    """The config's model in eval mode on ``device``, with the weights of ``checkpoint`` (a path or URL) loaded
    strictly, or as built when it is None (no ``init_cfg`` is run).

    As mmdet's ``init_detector``: ``model.cfg`` is the config, ``model.dataset_meta`` (with a checkpoint) the
    checkpoint's ``meta['dataset_meta']``, else the config's test dataset's metainfo, and SyncBatchNorm becomes
    BatchNorm. Unlike it, options are checked and the
    checkpoint must fit every key (ConfigError / CheckpointError, one line).
    """
    cfg = init_config(config, cfg_options)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    if checkpoint is not None:
        meta = load_checkpoint_strictly(model, checkpoint).get('meta')
        dataset_meta = meta.get('dataset_meta') if isinstance(meta, dict) else None
        if isinstance(dataset_meta, dict):
            model.dataset_meta = {str(key).lower(): value for key, value in dataset_meta.items()}
        elif 'test_dataloader' in cfg:
            model.dataset_meta = _test_dataset_meta(cfg)
    model.cfg = cfg
    return model.to(device).eval()
