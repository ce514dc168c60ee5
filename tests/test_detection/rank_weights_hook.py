"""Test helper: a hook that saves each rank's final model weights (imported by the DDP test's config)."""
from pathlib import Path

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mixdet.registry import HOOKS


@HOOKS.register_module()
class RankWeightsDumpHook(Hook):
    """After training, write ``rank{r}_weights.pth`` (the unwrapped model's state_dict) into the work dir."""

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        torch.save(model.state_dict(), Path(runner.work_dir) / f'rank{runner.rank}_weights.pth')
