"""Test helper: a hook that saves each rank's final model weights (imported by the DDP test's config)."""
from pathlib import Path

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mixdet.registry import HOOKS


@HOOKS.register_module()
class RankWeightsDumpHook(Hook):
    """After training, write ``rank{r}_weights.pth`` (the unwrapped model's parameters) into the work dir.

    BatchNorm running statistics are left out: as in mmdet, DDP runs with ``broadcast_buffers=False``, so
    each rank keeps the statistics of its own images (rank 0's are checkpointed).
    """

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        parameters = {k: p.detach() for k, p in model.named_parameters()}
        torch.save(parameters, Path(runner.work_dir) / f'rank{runner.rank}_weights.pth')
