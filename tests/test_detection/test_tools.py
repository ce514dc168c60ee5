"""tools/train.py, tools/test.py and the plotting tools, run as a user runs them."""
import pickle
import re
from collections import OrderedDict
from pathlib import Path

import torch

from conftest import FAST, SHAPES_CONFIG, run_tool
from mixdet.engine.training_logs import read_curves


def latest_checkpoint(work_dir):
    return Path((Path(work_dir) / 'last_checkpoint').read_text().strip())


def test_training_saves_iteration_checkpoints(trained_work_dir):
    assert latest_checkpoint(trained_work_dir).name == 'iter_2.pth'


def test_validation_metrics_are_logged_at_their_iteration(trained_work_dir):
    loss, mAP, unit = read_curves(trained_work_dir)
    assert unit == 'iteration' and [step for step, _ in loss] == [1, 2] and [step for step, _ in mAP] == [2]


def test_resume_and_load_from_keep_weights_only_loading(shapes_root, trained_work_dir, tmp_path):
    resumed = run_tool('tools/train.py', SHAPES_CONFIG, '--work-dir', trained_work_dir, '--resume',
                       '--cfg-options', f'data_root={shapes_root}/', *FAST, 'train_cfg.max_iters=4')
    assert 'resumed epoch: 0, iter: 2' in resumed.stdout
    checkpoint = latest_checkpoint(trained_work_dir)
    assert checkpoint.name == 'iter_4.pth'
    fine_tuned = run_tool('tools/train.py', SHAPES_CONFIG, '--work-dir', tmp_path,
                          '--cfg-options', f'data_root={shapes_root}/', f'load_from={checkpoint}', *FAST)
    assert f'Load checkpoint from {checkpoint}' in fine_tuned.stdout


def test_a_checkpoint_with_other_types_is_refused(shapes_root, trained_work_dir, tmp_path):
    checkpoint = torch.load(latest_checkpoint(trained_work_dir), map_location='cpu', weights_only=False)
    checkpoint['meta']['extra'] = OrderedDict(payload=pickle.dumps)  # a function: not a weights-only type
    tampered = tmp_path / 'tampered.pth'
    torch.save(checkpoint, tampered)
    result = run_tool('tools/test.py', SHAPES_CONFIG, tampered, '--work-dir', tmp_path,
                      '--cfg-options', f'data_root={shapes_root}/', *FAST, check=False)
    assert result.returncode != 0
    assert f'refusing to load checkpoint {tampered}' in result.stdout and 'pickle.dumps' in result.stdout


def test_a_checkpoint_of_another_architecture_is_refused(shapes_root, trained_work_dir, tmp_path):
    result = run_tool('tools/test.py', SHAPES_CONFIG, latest_checkpoint(trained_work_dir), '--work-dir', tmp_path,
                      '--cfg-options', f'data_root={shapes_root}/', *FAST, 'model.backbone.arch=m', check=False)
    assert result.returncode != 0
    assert 'does not fit the model of this config' in result.stdout and 'shape' in result.stdout


def test_amp_without_cuda_says_so(tmp_path):
    result = run_tool('tools/train.py', SHAPES_CONFIG, '--amp', '--work-dir', tmp_path, check=False)
    assert result.returncode != 0 and '--amp needs a CUDA device' in result.stdout


def test_plot_and_show_tools_write_pictures(shapes_root, trained_work_dir, tmp_path):
    out = tmp_path / 'curves.png'
    run_tool('tools/analysis/plot_logs.py', trained_work_dir, '--out', out)
    assert out.read_bytes()[:4] == b'\x89PNG'
    out = tmp_path / 'detections.png'
    printed = run_tool('tools/analysis/show_detections.py', SHAPES_CONFIG, latest_checkpoint(trained_work_dir),
                       '--out', out, '--num', '4', '--cfg-options', f'data_root={shapes_root}/').stdout
    assert re.search(r'4 images with predictions', printed) and out.read_bytes()[:4] == b'\x89PNG'
