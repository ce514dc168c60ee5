"""``AtomicCheckpointHook``: mmengine's CheckpointHook in an order that a kill cannot break.

mmengine 0.10.7's CheckpointHook deletes the oldest kept checkpoint (and the previous best one) *before*
writing the new one, and rewrites ``last_checkpoint`` in place afterwards: a kill during the save leaves a
truncated file, the previous checkpoint gone and ``last_checkpoint`` naming a deleted file. Here the new
checkpoint is written atomically first (:meth:`MixdetRunner.save_checkpoint`), then ``last_checkpoint`` is
replaced atomically, and only then are outdated checkpoints removed. Partial files that a killed run left
behind are removed when training starts.
"""
from __future__ import annotations

import contextlib
import glob
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mixdet.registry import HOOKS

from .atomic_files import write_text_atomically


class _DeferredRemovals:
    """Stands in for a file backend: records ``remove``/``rmtree`` instead of doing them."""

    def __init__(self, backend):
        self._backend, self.paths = backend, []

    def remove(self, path):
        self.paths.append(path)

    def rmtree(self, path):
        self.paths.append(path)

    def __getattr__(self, name):
        return getattr(self._backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """CheckpointHook (same arguments) that never loses the last complete checkpoint."""

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process() and osp.isdir(self.out_dir):
            for partial in glob.glob(osp.join(self.out_dir, '.*.partial-*')):
                os.remove(partial)

    @contextlib.contextmanager
    def _removals_after_save(self):
        """Within the block removals are only recorded; they happen once the block has finished."""
        backend, deferred = self.file_backend, _DeferredRemovals(self.file_backend)
        self.file_backend = deferred
        try:
            yield
        finally:
            self.file_backend = backend
        for path in deferred.paths if is_main_process() else []:
            if backend.isfile(path):
                backend.remove(path)
            elif backend.isdir(path):
                backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        """Save ``step``'s checkpoint, point ``last_checkpoint`` at it, then drop checkpoints beyond max_keep_ckpts."""
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.file_backend.join_path(self.out_dir,
                                                       self.filename_tmpl.format(self.keep_ckpt_ids.popleft()))
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        self.last_ckpt = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(self.out_dir, self.filename_tmpl.format(step), self.file_client_args,
                               save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
                               meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        write_text_atomically(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if outdated is not None and self.file_backend.isfile(outdated):
            self.file_backend.remove(outdated)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic, with the previous best removed only after the new one is written."""
        with self._removals_after_save():
            super()._save_best_checkpoint(runner, metrics)
