"""Datasets: ``CheckedCocoDataset`` (registered in mmdet's DATASETS), its data checks and the shapes generator."""
from .checked_coco import CheckedCocoDataset
from .coco_metric import CheckedCocoMetric
from .data_check_hook import DataCheckHook
from .errors import DataError, DataFileNotFoundError, ImageFileError, one_line
from .shapes import COCO_CATEGORIES, SHAPE_CLASSES, SHAPE_TO_COCO, make_shapes_dataset

__all__ = ['COCO_CATEGORIES', 'CheckedCocoDataset', 'CheckedCocoMetric', 'DataCheckHook', 'DataError',
           'DataFileNotFoundError', 'ImageFileError', 'SHAPE_CLASSES', 'SHAPE_TO_COCO', 'make_shapes_dataset',
           'one_line']
