"""Detectors for the deployment benchmarks (tools/deployment/benchmark_*.py): a config's model with a checkpoint's
weights or freshly initialised ones."""
from __future__ import annotations

import logging

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mixdet.checkpoint import load_checkpoint_strictly
from mixdet.engine.config_setup import apply_cfg_options

RANDOM = 'random'


def build_detector(config: str, checkpoint: str = RANDOM, cfg_options: dict | None = None) -> torch.nn.Module:
    """The config's detector in eval mode with the checkpoint's weights (strictly; CheckpointError otherwise), or
    initialised by its ``init_cfg`` with seed 0 for ``RANDOM`` (without mmengine's per-parameter INFO log)."""
    cfg = Config.fromfile(config)
    apply_cfg_options(cfg, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    from mmdet.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    if checkpoint == RANDOM:
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)
        model.init_weights()
        logger.setLevel(level)
    else:
        load_checkpoint_strictly(model, checkpoint)
    return model.eval()
