"""MixConv operators: ``mixconv2d`` (functional), ``split_channels`` and the pure-PyTorch reference."""
from .cuda_plan import cuda_launch_plan
from .geometry import same_padding
from .mixconv import backend, mixconv2d
from .mixconv_reference import mixconv2d_reference, split_channels

__all__ = ['backend', 'cuda_launch_plan', 'mixconv2d', 'mixconv2d_reference', 'same_padding', 'split_channels']
