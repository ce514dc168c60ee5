"""Datasets: ``CheckedCocoDataset`` (registered in mmdet's DATASETS) and the synthetic shapes generator."""
from .checked_coco import CheckedCocoDataset, UnreadableImageError
from .shapes import COCO_CATEGORIES, SHAPE_CLASSES, SHAPE_TO_COCO, make_shapes_dataset

__all__ = ['COCO_CATEGORIES', 'CheckedCocoDataset', 'SHAPE_CLASSES', 'SHAPE_TO_COCO', 'UnreadableImageError',
           'make_shapes_dataset']
