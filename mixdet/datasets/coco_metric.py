"""``CheckedCocoMetric``: mmdet's CocoMetric that names its annotation file when it is missing or not JSON.

mmdet's CocoMetric reads its ``ann_file`` when the evaluator is built, after the datasets: a path that does not
exist (e.g. mmdet's default ``data/coco/annotations/instances_val2017.json`` left in a config for other data) or a
file that is not JSON ends the run with a traceback from deep in mmengine's file backend or the json module.
"""
from __future__ import annotations

import json
import os.path as osp

from mmdet.evaluation import CocoMetric

from mixdet.registry import METRICS

from .errors import DataError, DataFileNotFoundError


@METRICS.register_module()
class CheckedCocoMetric(CocoMetric):
    """``CocoMetric`` (same arguments) with one-line errors for a missing or non-JSON ``ann_file``."""

    def __init__(self, ann_file: str | None = None, **kwargs):
        if ann_file is not None and not osp.isfile(ann_file):
            raise DataFileNotFoundError(f'annotation file of the COCO evaluator not found: {ann_file} (set '
                                        f'val_evaluator.ann_file and test_evaluator.ann_file to the annotation '
                                        f'files of the val and test datasets)')
        try:
            super().__init__(ann_file=ann_file, **kwargs)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DataError(f'annotation file of the COCO evaluator {ann_file} is not valid JSON: {error}') from None
