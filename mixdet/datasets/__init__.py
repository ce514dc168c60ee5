"""Datasets: the synthetic shapes generator (numpy + OpenCV only)."""
from .shapes import COCO_CATEGORIES, SHAPE_CLASSES, SHAPE_TO_COCO, make_shapes_dataset

__all__ = ['COCO_CATEGORIES', 'SHAPE_CLASSES', 'SHAPE_TO_COCO', 'make_shapes_dataset']
