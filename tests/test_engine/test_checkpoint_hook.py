"""AtomicCheckpointHook keeps the last complete checkpoint when the save of the next one dies."""
from pathlib import Path
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub, MMLogger

from mixdet.engine.checkpoint_hook import AtomicCheckpointHook


class Killed(BaseException):
    """Stands in for a SIGKILL during a checkpoint write."""


def fake_runner(work_dir):
    def save_checkpoint(out_dir, filename, *args, **kwargs):
        if runner.die:
            raise Killed
        Path(out_dir, filename).write_bytes(b'weights')
    runner = SimpleNamespace(work_dir=str(work_dir), logger=MMLogger.get_instance('test_checkpoint_hook'),
                             message_hub=MessageHub.get_instance('test_checkpoint_hook'),
                             save_checkpoint=save_checkpoint, die=False)
    return runner


def test_a_save_that_dies_leaves_the_previous_checkpoint(tmp_path):
    runner = fake_runner(tmp_path)
    hook = AtomicCheckpointHook(interval=1, by_epoch=False, max_keep_ckpts=1)
    hook.before_train(runner)
    for step in (1, 2):
        hook._save_checkpoint_with_step(runner, step, {})
    assert [p.name for p in tmp_path.glob('iter_*.pth')] == ['iter_2.pth']  # max_keep_ckpts=1
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_2.pth')
    runner.die = True
    with pytest.raises(Killed):
        hook._save_checkpoint_with_step(runner, 3, {})
    assert (tmp_path / 'iter_2.pth').is_file()
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_2.pth')
