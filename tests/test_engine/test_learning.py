"""Training learns: a short run beats an untrained model by a wide margin, and tools/test.py's numbers
are pycocotools' own (its --out predictions reproduce them through COCOeval directly)."""
import pickle
import re

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mixdet.datasets import make_shapes_dataset
from mixdet.engine.config_setup import apply_cfg_options

from conftest import SHAPES_CONFIG, run_tool

OPTIONS = ['train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
           'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
           'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
           'test_dataloader.persistent_workers=False', 'train_cfg.max_iters=240', 'train_cfg.val_interval=240',
           'randomness.seed=0']
SUMMARY_LINE = re.compile(r'^ Average (?:Precision|Recall) .* = (-?\d\.\d+)$', re.MULTILINE)


def evaluate_untrained(data_root, work_dir):
    cfg = Config.fromfile(SHAPES_CONFIG)
    apply_cfg_options(cfg, dict(data_root=f'{data_root}/', work_dir=str(work_dir)))
    cfg.val_dataloader.num_workers, cfg.val_dataloader.persistent_workers = 0, False
    cfg.default_hooks.checkpoint.save_best = None  # no training: nothing to save
    return Runner.from_cfg(cfg).val()['coco/bbox_mAP']


def coco_eval_of_dump(ann_file, dump):
    """pycocotools' 12 numbers for mmdet's DumpDetResults pickle, with CocoMetric's maxDets (100, 300, 1000)."""
    gt = COCO(ann_file)
    cat_ids = sorted(gt.getCatIds())
    detections = []
    for result in pickle.loads(dump.read_bytes()):
        pred = result['pred_instances']
        for (x1, y1, x2, y2), score, label in zip(pred['bboxes'].tolist(), pred['scores'].tolist(),
                                                  pred['labels'].tolist()):
            detections.append(dict(image_id=result['img_id'], category_id=cat_ids[label],
                                   bbox=[x1, y1, x2 - x1, y2 - y1], score=score))
    evaluator = COCOeval(gt, gt.loadRes(detections), 'bbox')
    evaluator.params.maxDets = [100, 300, 1000]
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return evaluator.stats


@pytest.mark.slow
def test_short_training_learns_and_test_numbers_are_pycocotools(tmp_path):
    # fewer, larger objects than the demo's data, so that 240 iterations (about 3 minutes) learn something
    make_shapes_dataset(tmp_path / 'data', num_train=160, num_val=40, seed=5, max_objects=3, small_fraction=0.0)
    untrained = evaluate_untrained(tmp_path / 'data', tmp_path / 'untrained')
    run_tool('tools/train.py', SHAPES_CONFIG, '--work-dir', tmp_path / 'work',
             '--cfg-options', f'data_root={tmp_path}/data/', *OPTIONS)
    checkpoint = (tmp_path / 'work' / 'last_checkpoint').read_text().strip()
    dump = tmp_path / 'results.pkl'
    printed = run_tool('tools/test.py', SHAPES_CONFIG, checkpoint, '--out', dump, '--work-dir', tmp_path / 'test',
                       '--cfg-options', f'data_root={tmp_path}/data/', *OPTIONS).stdout
    numbers = [float(v) for v in SUMMARY_LINE.findall(printed)]
    assert len(numbers) == 12, printed[-3000:]
    print(f'untrained bbox mAP {untrained:.3f}, after 240 iterations {numbers[0]:.3f} (AP50 {numbers[1]:.3f})')
    assert numbers[0] > untrained + 0.04, (numbers[0], untrained)  # measured: 0.000 -> 0.114
    recomputed = coco_eval_of_dump(tmp_path / 'data/annotations/instances_val.json', dump)
    np.testing.assert_allclose(recomputed, numbers, atol=5e-4)
