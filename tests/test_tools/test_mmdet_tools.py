"""mmdet's own tools (shipped in the mmdet package under .mim/tools) on mixdet's shapes config (docs/tools.md)."""
import importlib.util
import json
from pathlib import Path

import mmdet
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import load
from mmengine.registry import init_default_scope

from conftest import SHAPES_CONFIG, latest_checkpoint, run_tool

MMDET_TOOLS = Path(mmdet.__file__).parent / '.mim' / 'tools'
PNG = b'\x89PNG'
# Two validations of an iteration-based run, as mmengine's LocalVisBackend writes them.
ITERATION_LOG = [{'loss': 3.0, 'iter': 10, 'step': 10}, {'coco/bbox_mAP': 0.1, 'data_time': 0.1, 'step': 10},
                 {'loss': 2.0, 'iter': 20, 'step': 20}, {'coco/bbox_mAP': 0.2, 'data_time': 0.1, 'step': 20}]


def data_options(root):
    """--cfg-options that point mmdet's tools at ``root``: they do not carry ``data_root=`` into the datasets."""
    ann_file = f'{root}/annotations/instances_val.json'
    return [f'{split}_dataloader.dataset.data_root={root}/' for split in ('train', 'val', 'test')] + \
        [f'val_evaluator.ann_file={ann_file}', f'test_evaluator.ann_file={ann_file}']


def mmdet_tool(tool, *args, check=True):
    """Run mmdet's ``tools/<tool>`` as a user would."""
    return run_tool(MMDET_TOOLS / tool, *args, check=check, timeout=300)


def file_names(root, split):
    """The image file names of ``split`` in the shapes annotation file."""
    images = json.loads((Path(root) / f'annotations/instances_{split}.json').read_text())['images']
    return sorted(image['file_name'] for image in images)


def test_print_config_shows_the_mixnet_detector():
    printed = mmdet_tool('misc/print_config.py', SHAPES_CONFIG).stdout
    assert "type='MixNet'" in printed and "runner_type = 'MixdetRunner'" in printed


def test_browse_dataset_draws_every_training_image(shapes_root, tmp_path):
    mmdet_tool('analysis_tools/browse_dataset.py', SHAPES_CONFIG, '--output-dir', tmp_path, '--not-show',
               '--cfg-options', *data_options(shapes_root))
    assert sorted(p.name for p in tmp_path.iterdir()) == file_names(shapes_root, 'train')
    assert all(p.stat().st_size > 0 for p in tmp_path.iterdir())


def test_benchmark_times_the_dataloader(shapes_root):
    printed = mmdet_tool('analysis_tools/benchmark.py', SHAPES_CONFIG, '--task', 'dataloader', '--max-iter', '5',
                         '--log-interval', '2', '--num-warmup', '1', '--launcher', 'none',
                         '--cfg-options', *data_options(shapes_root), 'test_dataloader.batch_size=1').stdout
    assert 'Overall fps: ' in printed and 'batch size: 1' in printed


@pytest.mark.skipif(torch.cuda.is_available(), reason='the limitation is mmdet 3.3.0 without CUDA')
def test_mmdet_inference_benchmark_needs_cuda_so_mixdet_has_its_own(shapes_root, trained_work_dir):
    checkpoint = latest_checkpoint(trained_work_dir)
    options = ['--max-iter', '4', '--log-interval', '2', '--num-warmup', '1']
    result = mmdet_tool('analysis_tools/benchmark.py', SHAPES_CONFIG, '--checkpoint', checkpoint, '--task',
                        'inference', *options, '--cfg-options', *data_options(shapes_root), check=False)
    assert result.returncode != 0 and 'Torch not compiled with CUDA enabled' in result.stdout
    printed = run_tool('tools/analysis_tools/benchmark_inference.py', SHAPES_CONFIG, checkpoint, *options,
                       '--cfg-options', f'data_root={shapes_root}/').stdout
    assert 'Done image [2  /4], fps: ' in printed and 'Overall fps: ' in printed and 'ms/img (cpu)' in printed


def confusion_matrix_module():
    """mmdet's tools/analysis_tools/confusion_matrix.py as a module (for its calculate_confusion_matrix)."""
    path = MMDET_TOOLS / 'analysis_tools/confusion_matrix.py'
    spec = importlib.util.spec_from_file_location('confusion_matrix', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_confusion_matrix_of_test_py_results(shapes_root, trained_work_dir, tmp_path):
    results = tmp_path / 'results.pkl'
    run_tool('tools/test.py', SHAPES_CONFIG, latest_checkpoint(trained_work_dir), '--work-dir', tmp_path / 'test',
             '--out', results, '--show-dir', 'shown', '--cfg-options', f'data_root={shapes_root}/')
    shown = sorted(p.name for p in tmp_path.glob('test/*/shown/*.jpg'))
    assert shown == file_names(shapes_root, 'val')  # --show-dir: under the run's timestamp folder, as mmdet
    mmdet_tool('analysis_tools/confusion_matrix.py', SHAPES_CONFIG, results, tmp_path / 'matrix',
               '--cfg-options', *data_options(shapes_root))
    assert (tmp_path / 'matrix/confusion_matrix.png').read_bytes()[:4] == PNG
    cfg = Config.fromfile(SHAPES_CONFIG)
    cfg.merge_from_dict(dict(a.split('=') for a in data_options(shapes_root)))
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    # Above every score, each ground-truth box is missed: the last column counts the boxes of each class.
    matrix = confusion_matrix_module().calculate_confusion_matrix(dataset, load(results), score_thr=1.01)
    annotations = json.loads((shapes_root / 'annotations/instances_val.json').read_text())['annotations']
    per_class = np.bincount([a['category_id'] - 1 for a in annotations], minlength=len(dataset.metainfo['classes']))
    assert matrix[:-1, -1].tolist() == per_class.tolist() and matrix.sum() == len(annotations) > 0


def test_analyze_logs_plots_the_training_loss(trained_work_dir, tmp_path):
    scalars = next(trained_work_dir.glob('*/vis_data/scalars.json'))
    printed = mmdet_tool('analysis_tools/analyze_logs.py', 'plot_curve', scalars, '--keys', 'loss',
                         '--out', tmp_path / 'loss.png').stdout
    assert 'metric is loss' in printed and (tmp_path / 'loss.png').read_bytes()[:4] == PNG


def test_analyze_logs_cannot_plot_iteration_based_map_so_mixdet_keeps_plot_logs(tmp_path):
    vis = tmp_path / '20260101_000000/vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text(''.join(json.dumps(record) + '\n' for record in ITERATION_LOG))
    result = mmdet_tool('analysis_tools/analyze_logs.py', 'plot_curve', vis / 'scalars.json', '--keys', 'bbox_mAP',
                        '--out', tmp_path / 'map.png', check=False)
    assert result.returncode != 0 and 'x and y must have same first dimension' in result.stdout
    printed = run_tool('tools/analysis_tools/plot_logs.py', tmp_path, '--out', tmp_path / 'curves.png').stdout
    assert '2 loss points, 2 mAP points' in printed
