"""Architectures as data: the MixNet arch tables, their block-string decoder and the widths and depthwise layers
they give. Plain Python (no torch, no OpenMMLab), so the backbone, the op's benchmarks and tests and the GPU check
all read the same tables."""
from .decode import ARCH_KEYS, BLOCK_KEYS, ArchSpec, BlockSpec, decode_arch, decode_block
from .mixnet import MIXNET_ARCHS
from .widths import CHANNEL_DIVISOR, DepthwiseLayer, depthwise_layers, make_divisible

__all__ = ['ARCH_KEYS', 'BLOCK_KEYS', 'CHANNEL_DIVISOR', 'MIXNET_ARCHS', 'ArchSpec', 'BlockSpec', 'DepthwiseLayer',
           'decode_arch', 'decode_block', 'depthwise_layers', 'make_divisible']
