"""tools/train.py, tools/test.py and the plotting tools, run as a user runs them."""
import pickle
import re
from collections import OrderedDict

import pytest
import torch

from mixdet.engine.training_logs import read_curves

from conftest import FAST, SHAPES_CONFIG, latest_checkpoint, run_tool


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
    checkpoint = latest_checkpoint(trained_work_dir)
    for tool, args in [('tools/test.py', [checkpoint]), ('tools/train.py', ['--resume', checkpoint])]:
        result = run_tool(tool, SHAPES_CONFIG, *args, '--work-dir', tmp_path, '--cfg-options',
                          f'data_root={shapes_root}/', *FAST, 'model.backbone.arch=m', check=False)
        assert result.returncode != 0
        last = result.stdout.strip().splitlines()[-1]
        assert last == f'checkpoint {checkpoint} holds a MixNet-S detector, the config builds MixNet-M', last


def edited_checkpoint(trained_work_dir, tmp_path, edit):
    checkpoint = torch.load(latest_checkpoint(trained_work_dir), map_location='cpu', weights_only=True)
    edit(checkpoint['state_dict'])
    path = tmp_path / 'edited.pth'
    torch.save(checkpoint, path)
    return path


def drop_cls_convs(state):
    for key in [k for k in state if k.startswith('bbox_head.cls_convs.')]:
        del state[key]


def test_missing_or_unexpected_keys_are_refused_by_test_load_from_and_pretrained(
        shapes_root, trained_work_dir, tmp_path):
    extra = lambda state: state.update({'bbox_head.extra.weight': torch.zeros(1)})  # noqa: E731
    for edit, kind in [(drop_cls_convs, 'missing'), (extra, 'unexpected')]:
        path = edited_checkpoint(trained_work_dir, tmp_path, edit)
        runs = [run_tool('tools/test.py', SHAPES_CONFIG, path, '--work-dir', tmp_path, '--cfg-options',
                         f'data_root={shapes_root}/', *FAST, check=False),
                run_tool('tools/train.py', SHAPES_CONFIG, '--work-dir', tmp_path, '--cfg-options',
                         f'data_root={shapes_root}/', *FAST, f'load_from={path}', check=False)]
        for result in runs:
            last = result.stdout.strip().splitlines()[-1]
            assert result.returncode != 0 and f'checkpoint {path} does not fit' in last and f'{kind}:' in last, last
    from mixdet.models.backbones import MixNet
    path = edited_checkpoint(trained_work_dir, tmp_path, lambda state: state.pop('backbone.conv_stem.weight'))
    backbone = MixNet(out_indices=(2, 4, 6), init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone'))
    with pytest.raises(ValueError, match=r"does not fit MixNet \(missing: \['conv_stem.weight'\]"):
        backbone.init_weights()


def test_amp_without_cuda_says_so(tmp_path):
    result = run_tool('tools/train.py', SHAPES_CONFIG, '--amp', '--work-dir', tmp_path, check=False)
    assert result.returncode != 0 and '--amp needs a CUDA device' in result.stdout


def test_plot_and_show_tools_write_pictures(shapes_root, trained_work_dir, tmp_path):
    out = tmp_path / 'curves.png'
    run_tool('tools/analysis_tools/plot_logs.py', trained_work_dir, '--out', out)
    assert out.read_bytes()[:4] == b'\x89PNG'
    out = tmp_path / 'detections.png'
    printed = run_tool('tools/analysis_tools/show_detections.py', SHAPES_CONFIG, latest_checkpoint(trained_work_dir),
                       '--out', out, '--num', '4', '--cfg-options', f'data_root={shapes_root}/').stdout
    assert re.search(r'^4 images, \d+ predictions with score > 0.3 on \d of them', printed, re.M)
    assert out.read_bytes()[:4] == b'\x89PNG'
