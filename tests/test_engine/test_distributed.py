"""Real 2-process DDP runs (torchrun --standalone, gloo on CPU) through tools/dist_train.sh."""
import os
import subprocess
import sys
from pathlib import Path

import torch

from conftest import FAST, REPO, RUN_DIR, SHAPES_CONFIG

HERE = Path(__file__).resolve().parent


def dist_train(shapes_root, tmp_path, hook_module, hook_type, *options, timeout):
    """tools/dist_train.sh with 2 processes on a shapes config that adds ``hook_type`` (from ``hook_module``, a
    file of this folder), 4 iterations; the CompletedProcess, stdout and stderr merged."""
    config = tmp_path / f'{hook_module}_probe.py'
    config.write_text(f"_base_ = '{SHAPES_CONFIG}'\n"
                      f"custom_imports = dict(imports=['mixdet.modules', '{hook_module}'], "
                      "allow_failed_imports=False)\n"
                      f"custom_hooks = [dict(type='{hook_type}')]\n")
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PATH=f'{Path(sys.executable).parent}:{os.environ["PATH"]}',
               PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get('PYTHONPATH', '')]))
    env.pop('PORT', None)  # one machine: torchrun --standalone picks a free port
    return subprocess.run(['bash', str(REPO / 'tools/dist_train.sh'), str(config), '2',
                           '--work-dir', str(tmp_path / 'work'),
                           '--cfg-options', f'data_root={shapes_root}/', *FAST, 'train_cfg.max_iters=4', *options],
                          cwd=RUN_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def test_two_process_ddp_training_keeps_ranks_identical(shapes_root, tmp_path):
    result = dist_train(shapes_root, tmp_path, 'rank_weights_hook', 'RankWeightsDumpHook',
                        'default_hooks.checkpoint.max_keep_ckpts=2', timeout=600)
    assert result.returncode == 0, result.stdout[-4000:]
    assert 'Distributed launcher: pytorch' in result.stdout and 'GPU number: 2' in result.stdout  # world size 2
    assert "'backend': 'gloo'" in result.stdout
    weights = [torch.load(tmp_path / 'work' / f'rank{r}_weights.pth', weights_only=True) for r in (0, 1)]
    initial = torch.load(tmp_path / 'work' / 'iter_2.pth', weights_only=False)['state_dict']
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        torch.testing.assert_close(weights[0][key], weights[1][key], rtol=0, atol=0, msg=key)
    moved = [k for k in weights[0] if not torch.equal(initial[k], weights[0][k])]
    assert moved, 'iterations 3 and 4 did not change any weight'


def test_a_hung_rank_ends_the_job_after_the_collective_timeout(shapes_root, tmp_path):
    result = dist_train(shapes_root, tmp_path, 'stop_rank_hook', 'StopRankHook', 'env_cfg.dist_cfg.timeout=5',
                        timeout=300)  # a hang guard: the collective timeout ends the job long before
    assert result.returncode != 0
    assert 'Timed out' in result.stdout or 'timed out' in result.stdout, result.stdout[-3000:]
