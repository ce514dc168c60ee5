"""The one registry import point: mixdet registers into MMDetection's registries."""
from mmdet.registry import MODELS

__all__ = ['MODELS']
