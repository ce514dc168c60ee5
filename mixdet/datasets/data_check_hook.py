"""``DataCheckHook``: before training or testing starts, the model and the evaluators checked against the datasets.

Each dataset checks its own file when it is built (:class:`.CheckedCocoDataset`); what only the runner sees
together is checked here, in ``before_run`` (after the loops built their datasets and evaluators, before the
first iteration), and each mismatch is a :class:`DataError` naming both sides:

* a head's ``num_classes`` differs from the number of the dataset's classes (mmdet's NumClassCheckHook asserts
  this only when an epoch starts);
* the train, val and test datasets list different classes;
* a ``CocoMetric`` without ``ann_file`` (mmdet then fails with an IndexError after the first training interval)
  or with another file than its dataset's (the metric scores the predictions against the file it reads).
"""
from __future__ import annotations

import os.path as osp

from mmdet.evaluation import CocoMetric
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from mixdet.registry import HOOKS, METRICS

from .errors import DataError

SPLITS = ('train', 'val', 'test')


@HOOKS.register_module()
class DataCheckHook(Hook):
    """Refuse, before the first iteration, a model or evaluator that does not fit the datasets (module docstring)."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        datasets = {split: innermost_datasets(loop.dataloader.dataset) for split, loop in built_loops(runner)}
        classes = {split: tuple(found[0].metainfo['classes']) for split, found in datasets.items() if found}
        check_same_classes(classes)
        if classes:
            check_num_classes(runner.model, *next(iter(classes.items())))
        for split in ('val', 'test'):
            for dataset in datasets.get(split, []):
                check_coco_metrics(runner.cfg.get(f'{split}_evaluator'), dataset, split)


def built_loops(runner):
    """``(split, loop)`` of the loops the runner has built for this run (``runner.train_loop`` would build one)."""
    for split in SPLITS:
        loop = getattr(runner, f'_{split}_loop')
        if isinstance(loop, BaseLoop):
            yield split, loop


def innermost_datasets(dataset) -> list:
    """The datasets inside wrappers (RepeatDataset, ClassBalancedDataset: ``.dataset``; ConcatDataset:
    ``.datasets``)."""
    if hasattr(dataset, 'datasets'):
        return [inner for part in dataset.datasets for inner in innermost_datasets(part)]
    if hasattr(dataset, 'dataset'):
        return innermost_datasets(dataset.dataset)
    return [dataset]


def check_same_classes(classes: dict) -> None:
    splits = list(classes)
    for split in splits[1:]:
        if classes[split] != classes[splits[0]]:
            raise DataError(f'the {splits[0]} dataset has classes {classes[splits[0]]} but the {split} dataset '
                            f'{classes[split]}: give both the same metainfo=dict(classes=...)')


def check_num_classes(model, split: str, classes: tuple) -> None:
    """Each head's ``num_classes`` (as mmdet's NumClassCheckHook: modules with that attribute, RPN heads aside)."""
    for name, module in model.named_modules():
        name = name.removeprefix('module.')  # DDP
        number = getattr(module, 'num_classes', None)
        if isinstance(number, int) and not name.endswith('rpn_head') and number != len(classes):
            raise DataError(f'model.{name}.num_classes is {number} but the {split} dataset has {len(classes)} '
                            f'classes {classes}: set model.{name}.num_classes={len(classes)}')


def check_coco_metrics(evaluator_cfg, dataset, split: str) -> None:
    """Every CocoMetric of the ``split`` evaluator reads the annotation file of its dataset."""
    metrics = evaluator_cfg if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]
    dataset_file = getattr(dataset, 'ann_file', None)
    for metric in metrics:
        if not (metric and is_coco_metric(metric.get('type')) and dataset_file):
            continue
        ann_file = metric.get('ann_file')
        if not ann_file:
            raise DataError(f'{split}_evaluator has no ann_file: set {split}_evaluator.ann_file=\'{dataset_file}\', '
                            f'the annotation file of the {split} dataset')
        if osp.realpath(ann_file) != osp.realpath(dataset_file):
            raise DataError(f'{split}_evaluator.ann_file is {ann_file} but the {split} dataset reads {dataset_file}: '
                            f'the metric would score the predictions against another file')


def is_coco_metric(metric_type) -> bool:
    metric_class = METRICS.get(metric_type) if isinstance(metric_type, str) else metric_type
    return isinstance(metric_class, type) and issubclass(metric_class, CocoMetric)
