"""Importing this package registers mixdet's models in ``mmdet.registry.MODELS``."""
from .backbones import MixNet

__all__ = ['MixNet']
