"""Detectors for the deployment benchmarks (tools/deployment/benchmark_*.py): a config's model with a checkpoint's
weights or freshly initialised ones."""
from __future__ import annotations

import logging

import torch
from mmengine.logging import MMLogger

from .inference import init_detector

RANDOM = 'random'


def build_detector(config: str, checkpoint: str = RANDOM, cfg_options: dict | None = None) -> torch.nn.Module:
    """The config's detector in eval mode with the checkpoint's weights (strictly; CheckpointError otherwise), or
    initialised by its ``init_cfg`` with seed 0 for ``RANDOM`` (without mmengine's per-parameter INFO log)."""
    torch.manual_seed(0)
    model = init_detector(config, None if checkpoint == RANDOM else checkpoint, cfg_options)
    if checkpoint == RANDOM:
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)
        model.init_weights()
        logger.setLevel(level)
    return model.eval()
