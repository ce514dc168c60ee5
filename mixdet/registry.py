"""The one registry import point: mixdet registers into MMDetection's registries."""
from mmdet.registry import DATASETS, HOOKS, MODELS

__all__ = ['DATASETS', 'HOOKS', 'MODELS']
