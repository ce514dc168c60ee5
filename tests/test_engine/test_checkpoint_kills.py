"""A kill at any moment loses at most the work since the last checkpoint, never a checkpoint.

A training that saves a checkpoint every iteration is killed again and again (SIGKILL and SIGINT, half of
the kills aimed at the moment a checkpoint file is being written), each time resumed with ``--resume``.
After every kill each checkpoint on disk must load completely and ``last_checkpoint`` must name one; when
the chain finishes, the loss of every iteration equals that of a run that was never interrupted.
"""
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mixdet.checkpoint import read_checkpoint

from conftest import FAST, REPO, RUN_DIR, SHAPES_CONFIG

ITERS = 6
KILLS = 20
SETTINGS = [*FAST, f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
            'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=1',
            'default_hooks.checkpoint.save_best=None']


def command(shapes_root, work_dir):
    return [sys.executable, str(REPO / 'tools/train.py'), SHAPES_CONFIG, '--work-dir', str(work_dir), '--resume',
            '--cfg-options', f'data_root={shapes_root}/', *SETTINGS]


def losses(work_dir: Path) -> dict[int, float]:
    """Loss per iteration over all runs in ``work_dir`` (a later run's value replaces an earlier one)."""
    result = {}
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if 'loss' in record:
                result[record['step']] = record['loss']
    return result


def assert_nothing_lost(work_dir: Path, note: str) -> None:
    for path in work_dir.glob('iter_*.pth'):
        read_checkpoint(path)  # complete: raises on a truncated file
    last = work_dir / 'last_checkpoint'
    if last.exists():
        assert Path(last.read_text().strip()).is_file(), f'{note}: last_checkpoint names a missing file'


def kill_once(shapes_root, work_dir, rng: random.Random, aim_at_save: bool, sig: int) -> str:
    """Start a resumed training and kill it; returns where the kill landed (for the failure message)."""
    proc = subprocess.Popen(command(shapes_root, work_dir), cwd=RUN_DIR, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    landed = 'before its first checkpoint write'
    try:
        if aim_at_save:
            while proc.poll() is None and time.time() < deadline:
                if list(work_dir.glob('.*.mixdet-partial-*')):
                    time.sleep(rng.uniform(0, 0.05))
                    landed = 'during a checkpoint write'
                    break
                time.sleep(0.001)
        else:
            time.sleep(rng.uniform(2, 10))
            landed = 'at a random moment'
        if proc.poll() is None:
            proc.send_signal(sig)
    finally:
        proc.wait(timeout=600)  # a hang guard: a busy 2-core machine can take minutes to stop a run
    return f'{signal.Signals(sig).name} {landed}'


@pytest.mark.slow
def test_kills_during_training_and_checkpointing_lose_nothing(shapes_root, tmp_path):
    reference = tmp_path / 'reference'
    subprocess.run(command(shapes_root, reference), cwd=RUN_DIR, check=True, stdout=subprocess.DEVNULL, timeout=600)
    expected = losses(reference)
    assert sorted(expected) == list(range(1, ITERS + 1))

    work_dir = tmp_path / 'killed'
    rng = random.Random(0)
    for kill in range(KILLS):
        note = kill_once(shapes_root, work_dir, rng, aim_at_save=kill % 2 == 0,
                         sig=signal.SIGKILL if kill % 4 < 2 else signal.SIGINT)
        assert_nothing_lost(work_dir, f'kill {kill} ({note})')
    finished = subprocess.run(command(shapes_root, work_dir), cwd=RUN_DIR, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert losses(work_dir) == expected
