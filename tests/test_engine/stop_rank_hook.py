"""Test helper: a hook that freezes rank 1 (SIGSTOP) after its first iteration, as a hung process would be."""
import os
import signal

from mmengine.hooks import Hook

from mixdet.registry import HOOKS


@HOOKS.register_module()
class StopRankHook(Hook):
    """Rank 1 stops itself after iteration 1; the other ranks then wait for it in the next collective."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.rank == 1 and runner.iter == 0:
            os.kill(os.getpid(), signal.SIGSTOP)
