"""``AtomicCheckpointHook``: mmengine's CheckpointHook, in an order a kill cannot break, removing only its own files.

mmengine 0.10.7's CheckpointHook deletes the oldest kept checkpoint (and the previous best one) *before*
writing the new one, rewrites ``last_checkpoint`` in place, and trusts the paths a resumed checkpoint's
message hub holds (``best_ckpt``, ``keep_ckpt_ids``), removing whatever they name. Here:

* the new checkpoint is written atomically first (:meth:`MixdetRunner.save_checkpoint`), then
  ``last_checkpoint`` is replaced atomically, and only then are outdated checkpoints removed;
* only files of this hook's folder whose names this hook writes (``filename_tmpl``, ``best_*`` of it,
  ``last_checkpoint``) are ever removed, and never the one just written;
* bookkeeping restored from a checkpoint is honoured only when that checkpoint lies in this hook's folder
  (resuming run A into a new work dir B leaves A's files alone), and nothing is removed when training starts;
* temporary files of killed saves are removed at the start when they carry mixdet's partial-file marker, a
  name this hook writes and the id of a process that no longer runs;
* ``interval``, ``filename_tmpl``, ``max_keep_ckpts`` and ``save_last`` are checked against each other when the
  hook is built: a combination that would keep no checkpoint is refused in one line.
"""
from __future__ import annotations

import contextlib
import os
import os.path as osp
import re

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mixdet.registry import HOOKS
from mixdet.utils.atomic_files import dead_partials, write_text_atomically

from .config_check import ConfigError


def check_checkpoint_settings(interval, filename_tmpl: str, max_keep_ckpts, save_last) -> None:
    """ConfigError (one line) for settings with which the hook would keep no checkpoint or lose them."""
    where = 'default_hooks.checkpoint'
    if not isinstance(interval, int) or isinstance(interval, bool) or interval == 0 or interval < -1:
        raise ConfigError(f'{where}.interval={interval!r}: give the number of epochs/iterations between checkpoints '
                          f'(a positive int), or -1 for the last one only')
    if interval == -1 and not save_last:
        raise ConfigError(f'{where}: interval=-1 with save_last=False keeps no checkpoint at all')
    if not isinstance(max_keep_ckpts, int) or isinstance(max_keep_ckpts, bool):
        raise ConfigError(f'{where}.max_keep_ckpts={max_keep_ckpts!r} is not an int (<= 0 keeps every checkpoint)')
    if not isinstance(filename_tmpl, str) or '/' in filename_tmpl or os.sep in filename_tmpl:
        raise ConfigError(f'{where}.filename_tmpl={filename_tmpl!r}: give a file name (no folder) with {{}} for the '
                          f'epoch/iteration, e.g. iter_{{}}.pth')
    try:
        first, second = filename_tmpl.format(1), filename_tmpl.format(2)
    except (IndexError, KeyError, ValueError) as error:
        raise ConfigError(f'{where}.filename_tmpl={filename_tmpl!r} cannot be filled with the step ({error}); '
                          f'use one {{}}, e.g. iter_{{}}.pth') from error
    if max_keep_ckpts > 0 and first == second:
        raise ConfigError(f'{where}.filename_tmpl={filename_tmpl!r} gives every checkpoint the same name, so '
                          f'max_keep_ckpts={max_keep_ckpts} would delete each one right after writing it; put {{}} in '
                          f'it for the step')


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
    """CheckpointHook (same arguments) that never loses the last complete checkpoint and removes only its own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        check_checkpoint_settings(self.interval, self.filename_tmpl, self.max_keep_ckpts, self.save_last)
        step = r'\d+'.join(re.escape(part) for part in self.filename_tmpl.split('{}'))
        self._own_names = re.compile(f'(best_.+_)?{step}|last_checkpoint')

    def owns(self, path: str) -> bool:
        """Whether ``path`` is a file name this hook writes, in its folder."""
        folder, name = osp.split(osp.abspath(path))
        return folder == osp.abspath(self.out_dir) and self._own_names.fullmatch(name) is not None

    def before_train(self, runner) -> None:
        hub = runner.message_hub
        kept = hub.runtime_info.get('keep_ckpt_ids')
        if kept is not None:  # nothing is removed at start: only the newest max_keep_ckpts stay in the rotation
            valid = isinstance(kept, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in kept)
            hub.update_info('keep_ckpt_ids', kept[-self.max_keep_ckpts:] if valid and self.max_keep_ckpts > 0 else [])
        super().before_train(runner)
        self._forget_foreign_paths(runner)
        if is_main_process() and osp.isdir(self.out_dir):
            for partial in dead_partials(self.out_dir, lambda name: self._own_names.fullmatch(name) is not None):
                os.remove(partial)

    def _forget_foreign_paths(self, runner) -> None:
        """Honour restored paths only if the resumed checkpoint lies in this hook's folder and they are its own."""
        resumed = getattr(runner, 'resumed_checkpoint', None)
        here = resumed is not None and self.owns(resumed)
        step = runner.epoch if self.by_epoch else runner.iter
        if getattr(self, 'keep_ckpt_ids', None):
            ids = list(self.keep_ckpt_ids)
            if not (here and all(0 < i <= step for i in ids) and ids == sorted(set(ids))):
                runner.logger.warning(f'kept checkpoint ids {ids} of the resumed checkpoint are not this work '
                                      f'dir\'s; none of those files will be removed')
                self.keep_ckpt_ids.clear()
                runner.message_hub.update_info('keep_ckpt_ids', [])
        bests = dict(best_ckpt=getattr(self, 'best_ckpt_path', None))
        bests.update({f'best_ckpt_{k}': v for k, v in (getattr(self, 'best_ckpt_path_dict', None) or {}).items()})
        for key, path in bests.items():
            if path is not None and not (here and isinstance(path, str) and self.owns(path)):
                runner.logger.warning(f'best checkpoint {path!r} of the resumed checkpoint is not this work dir\'s; '
                                      f'it will not be removed')
                if key == 'best_ckpt':
                    self.best_ckpt_path = None
                else:
                    self.best_ckpt_path_dict[key[len('best_ckpt_'):]] = None
                runner.message_hub.update_info(key, None)

    def _remove_own(self, path: str, keep: str | None = None) -> None:
        if is_main_process() and self.owns(path) and path != keep and osp.isfile(path):
            os.remove(path)

    @contextlib.contextmanager
    def _removals_after_save(self):
        """Within the block removals are only recorded; they happen once the block has finished."""
        backend, deferred = self.file_backend, _DeferredRemovals(self.file_backend)
        self.file_backend = deferred
        try:
            yield
        finally:
            self.file_backend = backend
        for path in deferred.paths:
            self._remove_own(path, keep=self.best_ckpt_path if hasattr(self, 'best_ckpt_path') else None)

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
        if outdated is not None:
            self._remove_own(outdated, keep=self.last_ckpt)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic, with the previous best removed only after the new one is written."""
        if not self.save_best:  # as mmengine: also reached by a validation-only run, which never set a backend
            return
        with self._removals_after_save():
            super()._save_best_checkpoint(runner, metrics)
