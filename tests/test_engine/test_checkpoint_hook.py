"""AtomicCheckpointHook keeps the last complete checkpoint when the save of the next one dies, removes nothing that
is not its own (whatever a resumed checkpoint says), and refuses settings that would keep no checkpoint."""
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub, MMLogger

from mixdet.engine.checkpoint_hook import AtomicCheckpointHook
from mixdet.engine.config_check import ConfigError


class Killed(BaseException):
    """Stands in for a SIGKILL during a checkpoint write."""


def fake_runner(work_dir, runtime_info=None, resumed=None, step=0):
    def save_checkpoint(out_dir, filename, *args, **kwargs):
        if runner.die:
            raise Killed
        Path(out_dir, filename).write_bytes(b'weights')
    hub = MessageHub(f'test_checkpoint_hook_{id(work_dir)}')
    for key, value in (runtime_info or {}).items():
        hub.update_info(key, value)
    runner = SimpleNamespace(work_dir=str(work_dir), logger=MMLogger.get_instance('test_checkpoint_hook'),
                             message_hub=hub, save_checkpoint=save_checkpoint, die=False,
                             resumed_checkpoint=None if resumed is None else str(resumed), iter=step, epoch=0)
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


def own_files(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def validate(hook, runner, score):
    runner.iter += 1
    hook._save_best_checkpoint(runner, {'coco/bbox_mAP': score})


def test_a_crafted_best_path_outside_the_work_dir_is_never_removed(tmp_path):
    victim = tmp_path / 'victim'
    victim.mkdir()
    (victim / 'precious.pth').write_bytes(b'x')
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'iter_4.pth').write_bytes(b'w')
    for path in (str(victim), str(victim / 'precious.pth')):
        runner = fake_runner(work, dict(best_ckpt=path, best_score=0.1), resumed=work / 'iter_4.pth', step=4)
        hook = AtomicCheckpointHook(interval=1, by_epoch=False, save_best='coco/bbox_mAP', rule='greater')
        hook.before_train(runner)
        validate(hook, runner, 0.5)
        assert (victim / 'precious.pth').read_bytes() == b'x'
        assert (work / 'best_coco_bbox_mAP_iter_5.pth').is_file()


def test_kept_ids_of_a_resumed_checkpoint_delete_nothing_at_start(tmp_path):
    for step in range(1, 41):
        (tmp_path / f'iter_{step}.pth').write_bytes(b'w')
    runner = fake_runner(tmp_path, dict(keep_ckpt_ids=list(range(1, 41))), resumed=tmp_path / 'iter_40.pth', step=40)
    hook = AtomicCheckpointHook(interval=1, by_epoch=False, max_keep_ckpts=2)
    hook.before_train(runner)
    assert len(list(tmp_path.glob('iter_*.pth'))) == 40
    hook._save_checkpoint_with_step(runner, 41, {})  # the rotation goes on from the newest kept ones
    assert not (tmp_path / 'iter_39.pth').exists() and (tmp_path / 'iter_40.pth').is_file()
    assert len(list(tmp_path.glob('iter_*.pth'))) == 40


def test_resuming_run_a_into_a_new_work_dir_leaves_a_alone(tmp_path):
    run_a, run_b = tmp_path / 'a', tmp_path / 'b'
    run_a.mkdir()
    run_b.mkdir()
    for name in ('iter_1.pth', 'iter_2.pth', 'best_coco_bbox_mAP_iter_2.pth'):
        (run_a / name).write_bytes(b'a')
    info = dict(keep_ckpt_ids=[1, 2], best_ckpt=str(run_a / 'best_coco_bbox_mAP_iter_2.pth'), best_score=0.1)
    runner = fake_runner(run_b, info, resumed=run_a / 'iter_2.pth', step=2)
    hook = AtomicCheckpointHook(interval=1, by_epoch=False, max_keep_ckpts=1, save_best='coco/bbox_mAP',
                                rule='greater')
    hook.before_train(runner)
    hook._save_checkpoint_with_step(runner, 3, {})
    validate(hook, runner, 0.9)
    assert own_files(run_a) == ['best_coco_bbox_mAP_iter_2.pth', 'iter_1.pth', 'iter_2.pth']
    assert own_files(run_b) == ['best_coco_bbox_mAP_iter_3.pth', 'iter_3.pth', 'last_checkpoint']


def test_the_previous_best_of_this_run_is_replaced(tmp_path):
    runner = fake_runner(tmp_path, step=0)
    hook = AtomicCheckpointHook(interval=1, by_epoch=False, save_best='coco/bbox_mAP', rule='greater')
    hook.before_train(runner)
    validate(hook, runner, 0.2)
    validate(hook, runner, 0.3)
    assert own_files(tmp_path) == ['best_coco_bbox_mAP_iter_2.pth']


def test_only_dead_partials_of_its_own_names_are_removed_at_start(tmp_path):
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True)
    dead_pid, live_pid = int(dead.stdout), os.getpid()
    names = {f'.iter_3.pth.mixdet-partial-{dead_pid}': False, f'.iter_3.pth.mixdet-partial-{live_pid}': True,
             f'.notes.txt.mixdet-partial-{dead_pid}': True, '.iter_3.pth.partial-1': True,
             f'.last_checkpoint.mixdet-partial-{dead_pid}': False}
    for name in names:
        (tmp_path / name).write_bytes(b'')
    hook = AtomicCheckpointHook(interval=1, by_epoch=False)
    hook.before_train(fake_runner(tmp_path))
    assert own_files(tmp_path) == sorted(name for name, kept in names.items() if kept)


@pytest.mark.parametrize('settings, words', [
    (dict(interval=0), 'interval=0: give the number'),
    (dict(interval=-2), 'interval=-2: give the number'),
    (dict(interval=1.5), 'interval=1.5: give the number'),
    (dict(interval=-1, save_last=False), 'keeps no checkpoint at all'),
    (dict(interval=1, filename_tmpl='latest.pth', max_keep_ckpts=2), 'gives every checkpoint the same name'),
    (dict(interval=1, filename_tmpl='ckpt/iter_{}.pth'), "filename_tmpl='ckpt/iter_{}.pth': give a file name"),
    (dict(interval=1, filename_tmpl='iter_{step}.pth'), 'cannot be filled with the step'),
    (dict(interval=1, max_keep_ckpts='2'), "max_keep_ckpts='2' is not an int"),
])
def test_settings_that_lose_checkpoints_are_refused_in_one_line(settings, words):
    with pytest.raises(ConfigError, match=words) as error:
        AtomicCheckpointHook(by_epoch=False, **settings)
    assert str(error.value).startswith('default_hooks.checkpoint') and '\n' not in str(error.value)


def test_one_name_without_rotation_is_allowed(tmp_path):
    runner = fake_runner(tmp_path)
    hook = AtomicCheckpointHook(interval=1, by_epoch=False, filename_tmpl='latest.pth')
    hook.before_train(runner)
    for step in (1, 2):
        hook._save_checkpoint_with_step(runner, step, {})
    assert own_files(tmp_path) == ['last_checkpoint', 'latest.pth']


def test_the_previous_best_survives_a_save_of_the_next_that_dies(tmp_path):
    runner = fake_runner(tmp_path, step=0)
    hook = AtomicCheckpointHook(interval=1, by_epoch=False, save_best='coco/bbox_mAP', rule='greater')
    hook.before_train(runner)
    validate(hook, runner, 0.2)
    runner.die = True
    with pytest.raises(Killed):
        validate(hook, runner, 0.3)
    assert own_files(tmp_path) == ['best_coco_bbox_mAP_iter_1.pth']
