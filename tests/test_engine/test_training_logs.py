"""read_curves: loss and mAP points from mmengine's scalars.json, with the unit of the mAP steps."""
import json

import pytest

from mixdet.engine.training_logs import read_curves


def write_run(work_dir, timestamp, records):
    vis = work_dir / timestamp / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))


def test_epoch_based_run_reports_map_per_epoch(tmp_path):
    write_run(tmp_path, '20260101_000000', [
        dict(loss=3.0, epoch=1, iter=10, step=10), dict(loss=2.0, epoch=1, iter=20, step=20),
        {'coco/bbox_mAP': 0.1, 'step': 1}])
    assert read_curves(tmp_path) == ([(10, 3.0), (20, 2.0)], [(1, 0.1)], 'epoch')


def test_iteration_based_resumed_run_overrides_earlier_points(tmp_path):
    write_run(tmp_path, '20260101_000000', [dict(loss=3.0, iter=10, step=10), {'coco/bbox_mAP': 0.1, 'step': 10}])
    write_run(tmp_path, '20260101_010000', [dict(loss=2.5, iter=10, step=10), dict(loss=2.0, iter=20, step=20),
                                            {'coco/bbox_mAP': 0.3, 'step': 20}])
    assert read_curves(tmp_path) == ([(10, 2.5), (20, 2.0)], [(10, 0.1), (20, 0.3)], 'iteration')


def test_a_dir_without_logs_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        read_curves(tmp_path)
