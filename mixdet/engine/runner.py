"""``MixdetRunner``: mmengine's Runner with checkpoints read as data, loaded strictly and written atomically.

Configs select it with ``runner_type = 'MixdetRunner'`` (mmdet's tools/train.py honours that key too).
What changes against mmengine 0.10.7's Runner:

* reading: every checkpoint goes through mmengine's ``CheckpointLoader`` with mixdet's schemes
  (:mod:`.checkpoint_schemes`: data only, model-zoo names resolved, one-line errors naming the file; configuration
  text dropped) and into the model strictly (mmengine loads
  ``load_from`` with ``strict=False`` and only logs what did not fit);
* ``resume``: mmengine evaluates ``meta['config']`` with ``Config.fromstring`` to compare GPU counts,
  which runs any code a crafted checkpoint puts there; the reader has dropped it. A checkpoint without
  the optimizer/scheduler/message-hub state (a ``best_*.pth`` or published weights) is refused instead
  of silently restarting the schedule;
* writing: the message-hub state is stored as plain data, and the file is written to a temporary name
  in the same folder, flushed, fsynced and renamed, so a kill never leaves a truncated checkpoint under
  the final name.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Any

from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import is_model_wrapper
from mmengine.runner import CheckpointLoader, Runner

from mixdet.checkpoint import CheckpointError, load_model_strictly
from mixdet.checkpoint.message_hub import message_hub_state, message_hub_to_plain
from mixdet.registry import RUNNERS
from mixdet.utils.atomic_files import commit_file, temporary_name


@RUNNERS.register_module()
class MixdetRunner(Runner):
    """mmengine's Runner with safe, strict checkpoint loading and atomic, data-only checkpoint saving."""

    _resuming = False
    resumed_checkpoint: str | None = None

    def load_checkpoint(self, filename: str, map_location: Any = 'cpu', strict: bool = True,
                        revise_keys: list | None = None) -> dict:
        """Read ``filename`` as data and load its weights strictly; return the checkpoint dict.

        ``strict`` and ``revise_keys`` are accepted for mmengine's signature: loading is always strict and
        DDP's ``module.`` prefix is always stripped. Raises CheckpointError (one line naming the file).
        """
        checkpoint = CheckpointLoader.load_checkpoint(filename, map_location)  # mixdet's schemes: data only
        meta = checkpoint.setdefault('meta', {})
        if not isinstance(meta, dict):
            raise CheckpointError(f'checkpoint {filename}: its meta is a {type(meta).__name__}, not a dict')
        if self._resuming:
            self._check_training_state(checkpoint, filename)
            checkpoint['message_hub'] = message_hub_state(checkpoint['message_hub'], filename, HistoryBuffer)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        # every rank loads strictly (mmengine's load_checkpoint(strict=True) raises on rank 0 only)
        load_model_strictly(self.model.module if is_model_wrapper(self.model) else self.model, checkpoint, filename)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def _check_training_state(self, checkpoint: dict, filename: str) -> None:
        """Refuse to resume from a checkpoint that lacks what continuing the schedule needs."""
        needed = ['message_hub', 'optimizer'] + (['param_schedulers'] if self.param_schedulers else [])
        missing = [key for key in needed if key not in checkpoint]
        meta = checkpoint['meta']
        if not (isinstance(meta, dict) and isinstance(meta.get('epoch'), int) and isinstance(meta.get('iter'), int)):
            missing.append('meta epoch/iter')
        if missing:
            raise CheckpointError(
                f'cannot resume from checkpoint {filename}: it holds no {" / ".join(missing)} state (weights only, '
                f'like best_*.pth), so the optimizer and learning-rate schedule would restart silently; start a '
                f'new schedule from its weights with --cfg-options load_from={filename} instead')
        schedulers = self.param_schedulers or []
        schedulers = [s for group in schedulers.values() for s in group] if isinstance(schedulers, dict) else schedulers
        states = checkpoint.get('param_schedulers', [])
        states = [s for group in states.values() for s in group] if isinstance(states, dict) else states
        if schedulers and not (isinstance(states, list) and len(states) == len(schedulers) and all(
                isinstance(state, dict) and set(state) == set(scheduler.state_dict())
                for state, scheduler in zip(states, schedulers))):
            raise CheckpointError(f'cannot resume from checkpoint {filename}: its learning-rate scheduler state does '
                                  f'not fit the {len(schedulers)} schedulers of this config')

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's resume on a checkpoint checked by :meth:`load_checkpoint` (training state present).
        ``resumed_checkpoint`` tells the checkpoint hook where it lies."""
        self.resumed_checkpoint = filename
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        """mmengine's save_checkpoint, written atomically: a temporary file in ``out_dir``, then a rename."""
        final = osp.join(out_dir, filename)
        partial = temporary_name(final)
        try:
            super().save_checkpoint(out_dir, osp.basename(partial), *args, **kwargs)
            if osp.isfile(partial):  # rank 0 only (save_checkpoint is master_only)
                commit_file(partial, final)
        finally:
            if osp.exists(partial):
                os.remove(partial)

    def call_hook(self, fn_name: str, **kwargs) -> None:
        """Hooks, plus the plain-data message hub just before a checkpoint is written."""
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'before_save_checkpoint':
            checkpoint = kwargs['checkpoint']
            checkpoint['message_hub'] = message_hub_to_plain(checkpoint['message_hub'])
