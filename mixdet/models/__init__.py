"""Importing this package registers mixdet's models in ``mmdet.registry.MODELS``."""
from .backbones import MixConvBackbone, MixNet
from .dense_heads import MixdetSSDHead
from .detectors import SSDLiteDetector

__all__ = ['MixConvBackbone', 'MixNet', 'MixdetSSDHead', 'SSDLiteDetector']
