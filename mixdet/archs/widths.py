"""Channel widths and depthwise layers of a decoded arch: what the backbone builds, as plain numbers.

The benchmarks and tests take their layer tables from here (:func:`depthwise_layers`), so they follow the arch
tables instead of copies of them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .decode import ArchSpec

# Scaled channel widths are rounded with make_divisible(value, CHANNEL_DIVISOR): the nearest multiple, at least the
# divisor, never down by more than 10% -- timm's round_channels/make_divisible rule, so timm weights fit.
CHANNEL_DIVISOR = 8


def make_divisible(value: float, divisor: int, min_value: int | None = None, min_ratio: float = 0.9) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``min_value``, default the divisor), one
    multiple more when rounding lost more than ``1 - min_ratio`` of it (timm's and mmdet's rule)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < min_ratio * value else rounded


@dataclass(frozen=True)
class DepthwiseLayer:
    """A depthwise (MixConv) layer of a decoded arch: input [N, channels, height, width], one kernel per group."""
    name: str
    channels: int
    height: int
    width: int
    kernels: tuple[int, ...]
    stride: int


def depthwise_layers(spec: ArchSpec, height: int, width: int, widen_factor: float = 1.0) -> list[DepthwiseLayer]:
    """Every block's depthwise layer, in network order, for an input image of height x width.

    Channels follow the backbone's rounding (``make_divisible`` of the scaled widths, expansion of the
    block input); a stride-s layer maps a plane to ceil(size / s), as the stride-2 stem does.
    """
    multiplier = spec.width * widen_factor
    channels = make_divisible(spec.stem_channels * multiplier, CHANNEL_DIVISOR)
    height, width = -(-height // 2), -(-width // 2)
    layers = []
    for stage_index, stage in enumerate(spec.stages):
        repeats = [(block, repeat) for block in stage for repeat in range(block.repeats)]
        for index, (block, repeat) in enumerate(repeats):
            stride = block.stride if repeat == 0 else 1
            mid = channels if block.block_type == 'ds' else \
                make_divisible(channels * block.exp_ratio, CHANNEL_DIVISOR)
            layers.append(DepthwiseLayer(f's{stage_index}b{index}', mid, height, width, block.dw_kernels, stride))
            height, width = -(-height // stride), -(-width // stride)
            channels = make_divisible(block.out_channels * multiplier, CHANNEL_DIVISOR)
    return layers
