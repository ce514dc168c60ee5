"""Before any training or testing starts, the datasets, the model and the evaluators of a run are checked together
(DataCheckHook in the configs; --strict-data), and the tools print each problem as one line, without a traceback,
also when it is met inside a DataLoader worker process."""
import argparse
import shutil

import pytest
from mmengine.registry import RUNNERS

from mixdet.datasets import DataError, one_line
from mixdet.engine.config_setup import add_common_arguments, load_config

from conftest import FAST, SHAPES_CONFIG, latest_checkpoint, run_tool


def user_config(tmp_path, body):
    """A user's own config in an empty folder, inheriting the shapes config and changing what ``body`` says."""
    path = tmp_path / 'my_config.py'
    path.write_text(f'_base_ = {SHAPES_CONFIG!r}\n{body}')
    return path


def start_training(config, root, work_dir, *options, strict_data=False):
    """Build the runner of tools/train.py in this process and start training (stops before the first iteration
    when a check refuses the run)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_arguments(parser)
    args = parser.parse_args([str(config), '--work-dir', str(work_dir), *(['--strict-data'] if strict_data else []),
                              '--cfg-options', f'data_root={root}/', *FAST, *options])
    RUNNERS.build(load_config(args)).train()


@pytest.mark.parametrize('body, message', [
    ('model = dict(bbox_head=dict(num_classes=5))',
     r"model.bbox_head.num_classes is 5 but the train dataset has 6 classes \('circle', .*set "
     r'model.bbox_head.num_classes=6'),
    ("val_evaluator = dict(_delete_=True, type='CocoMetric', metric='bbox')",
     r"val_evaluator has no ann_file: set val_evaluator.ann_file='.*annotations/instances_val.json'"),
    ("data_root = 'data/shapes/'\nval_evaluator = dict(ann_file=data_root + 'annotations/instances_train.json')",
     'val_evaluator.ann_file is .*instances_train.json but the val dataset reads .*instances_val.json'),
    ("val_dataloader = dict(dataset=dict(metainfo=dict(classes=('circle', 'rectangle'))))",
     r"the train dataset has classes \('circle', 'rectangle', 'triangle', 'star', 'cross', 'ring'\) but the val "
     r"dataset \('circle', 'rectangle'\)"),
])
def test_a_model_or_evaluator_that_does_not_fit_the_data_is_refused_before_training(
        tmp_path, shapes_root, body, message):
    with pytest.raises(DataError, match=message):
        start_training(user_config(tmp_path, body), shapes_root, tmp_path / 'work')
    assert not list((tmp_path / 'work').glob('*.pth'))


@pytest.mark.parametrize('evaluator_file, message', [
    ('instances_val2017.json', r'annotation file of the COCO evaluator not found: .*instances_val2017.json \(set '
                               r'val_evaluator.ann_file and test_evaluator.ann_file'),
    ('not_json.json', 'annotation file of the COCO evaluator .*not_json.json is not valid JSON'),
])
def test_an_evaluator_file_that_is_missing_or_not_json_is_named(tmp_path, shapes_root, evaluator_file, message):
    (tmp_path / 'not_json.json').write_text('{"images": [')
    with pytest.raises(DataError, match=message):
        start_training(SHAPES_CONFIG, shapes_root, tmp_path / 'work',
                       f'val_evaluator.ann_file={tmp_path}/{evaluator_file}')


def test_strict_data_stops_on_what_would_only_be_a_warning(tmp_path, shapes_root):
    root = tmp_path / 'shapes'
    shutil.copytree(shapes_root, root)
    (root / 'train/000003.jpg').unlink()
    with pytest.raises(DataError, match=r'instances_train.json: 4 images, .*1 images skipped whose files are missing'
                                        r'.*\(strict: '):
        start_training(SHAPES_CONFIG, root, tmp_path / 'work', strict_data=True)


def test_train_tool_prints_a_wrong_class_name_as_one_line(tmp_path, shapes_root):
    config = user_config(tmp_path, "classes = ('Circle', 'rectangle', 'triangle', 'star', 'cross', 'ring')\n"
                                   "train_dataloader = dict(dataset=dict(metainfo=dict(classes=classes)))\n")
    result = run_tool('tools/train.py', config, '--work-dir', tmp_path / 'work', '--cfg-options',
                      f'data_root={shapes_root}/', *FAST, check=False)
    assert result.returncode == 1
    assert 'Traceback' not in result.stdout
    assert result.stdout.strip().splitlines()[-1] == (
        f"1 of 6 metainfo classes are not categories of {shapes_root}/annotations/instances_train.json: 'Circle' "
        f"(closest: 'circle'); its categories are 'circle', 'rectangle', 'triangle', 'star', 'cross', 'ring': set "
        f"metainfo=dict(classes=(...)) in the dataset config to names of the file")


def test_test_tool_names_an_undecodable_image_met_by_a_worker_process(tmp_path, shapes_root, trained_work_dir):
    root = tmp_path / 'shapes'
    shutil.copytree(shapes_root, root)
    (root / 'val/000004.jpg').write_bytes(b'not a JPEG at all')
    result = run_tool('tools/test.py', SHAPES_CONFIG, latest_checkpoint(trained_work_dir), '--work-dir',
                      tmp_path / 'test', '--cfg-options', f'data_root={root}/', 'test_dataloader.num_workers=1',
                      check=False)
    assert result.returncode == 1
    assert 'Traceback' not in result.stdout
    assert result.stdout.strip().splitlines()[-1] == (
        f'image {root}/val/000004.jpg (listed in {root}/annotations/instances_val.json) cannot be decoded: an '
        f'evaluation that skips images is not comparable; fix or remove it')


def test_one_line_keeps_the_message_of_an_error_reraised_from_a_worker():
    worker = DataError('Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call '
                       'last):\n  File "x.py", line 1, in f\nmixdet.datasets.errors.DataError: image a.jpg is bad')
    assert one_line(worker) == 'image a.jpg is bad'
    assert one_line(DataError('image b.jpg is bad')) == 'image b.jpg is bad'
