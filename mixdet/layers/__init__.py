"""MixNet layers with timm-compatible state_dict keys."""
from .blocks import DepthwiseSeparableBlock, InvertedResidualBlock, SqueezeExcite
from .conv2d import DepthwiseConv2d, GroupedConv2d, MixedConv2d, PaddedConv2d

__all__ = ['DepthwiseConv2d', 'DepthwiseSeparableBlock', 'GroupedConv2d', 'InvertedResidualBlock', 'MixedConv2d',
           'PaddedConv2d', 'SqueezeExcite']
