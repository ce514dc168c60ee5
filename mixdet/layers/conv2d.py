"""Convolution modules of MixNet, with timm's state_dict layout.

* :class:`MixedConv2d`: depthwise MixConv, one kernel size per channel group (keys ``0.weight``, ``1.weight``, ...).
* :class:`DepthwiseConv2d`: a single-kernel depthwise conv through the same op (key ``weight``).
* :class:`GroupedConv2d`: 1x1 conv in G groups without channel shuffle (TF ``GroupedConv2D``; ``a1.1``/``p1.1``).
* :class:`PaddedConv2d`: ``nn.Conv2d`` with 'symmetric' or TensorFlow 'same' padding (stem, plain 1x1 convs).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from mixdet.ops import mixconv2d, split_channels
from mixdet.ops.explicit_pad import explicit_pad
from mixdet.ops.geometry import check_padding, conv_padding, same_pads, symmetric_padding


class MixedConv2d(nn.ModuleList):
    """Mixed depthwise convolution (MixConv) over ``in_channels`` split by :func:`split_channels`.

    Group i holds a depthwise ``nn.Conv2d`` (used only as the parameter holder, so that
    state_dict keys are timm's ``{i}.weight``) with kernel ``kernel_sizes[i]``.

    Shapes: [N, C, H, W] -> [N, C, ceil(H / stride), ceil(W / stride)].
    """

    def __init__(self, in_channels: int, kernel_sizes: Sequence[int], stride: int = 1,
                 padding: str = 'symmetric', dilation: int = 1):
        kernel_sizes = list(kernel_sizes)
        if not kernel_sizes:
            raise ValueError('kernel_sizes must not be empty')
        splits = split_channels(in_channels, len(kernel_sizes))
        super().__init__(nn.Conv2d(c, c, k, stride, symmetric_padding(k, dilation), dilation, groups=c, bias=False)
                         for c, k in zip(splits, kernel_sizes))
        self.in_channels = self.out_channels = in_channels
        self.kernel_sizes = tuple(kernel_sizes)
        self.stride = stride
        self.padding_rule = check_padding(padding)
        self.dilation = dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mixconv2d(x, [conv.weight for conv in self], None, self.stride, self.padding_rule, self.dilation)

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, kernel_sizes={self.kernel_sizes}, stride={self.stride}, '
                f'padding={self.padding_rule!r}')


class DepthwiseConv2d(nn.Conv2d):
    """Depthwise k x k conv without bias, run by :func:`mixconv2d` (so 'same' padding and the fused op apply)."""

    def __init__(self, channels: int, kernel_size: int, stride: int = 1, padding: str = 'symmetric',
                 dilation: int = 1):
        super().__init__(channels, channels, kernel_size, stride, symmetric_padding(kernel_size, dilation),
                         dilation, groups=channels, bias=False)
        self.padding_rule = check_padding(padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mixconv2d(x, [self.weight], None, self.stride[0], self.padding_rule, self.dilation[0])


class PaddedConv2d(nn.Conv2d):
    """``nn.Conv2d`` (no bias by default) with 'symmetric' or TF 'same' padding computed per input size."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: str = 'symmetric', bias: bool = False):
        super().__init__(in_channels, out_channels, kernel_size, stride, conv_padding(kernel_size, padding, 1),
                         bias=bias)
        self.padding_rule = check_padding(padding)  # conv_padding above checks it too; said here, not relied on

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding_rule == 'same':  # F.pad; constant pads in an ONNX export
            x = explicit_pad(x, *same_pads(*x.shape[-2:], self.kernel_size[0], self.stride[0], 1))
        return super().forward(x)


class GroupedConv2d(nn.ModuleList):
    """1x1 convolution in ``groups`` groups without channel shuffle (MixNet's ``a1.1`` / ``p1.1``).

    Inputs and outputs are split separately by :func:`split_channels`; keys ``{i}.weight`` as timm.
    Shapes: [N, C_in, H, W] -> [N, C_out, H, W].
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int):
        self.in_splits = split_channels(in_channels, groups)
        out_splits = split_channels(out_channels, groups)
        super().__init__(nn.Conv2d(i, o, 1, bias=False) for i, o in zip(self.in_splits, out_splits))
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pieces = torch.split(x, self.in_splits, dim=1)
        return torch.cat([conv(piece) for conv, piece in zip(self, pieces)], dim=1)


def build_pointwise(in_channels: int, out_channels: int, groups: int, padding: str) -> nn.Module:
    """1x1 conv: a plain conv for one group, :class:`GroupedConv2d` otherwise (as timm)."""
    if groups == 1:
        return PaddedConv2d(in_channels, out_channels, 1, padding=padding)
    return GroupedConv2d(in_channels, out_channels, groups)


def build_depthwise(channels: int, kernel_sizes: Sequence[int], stride: int, padding: str) -> nn.Module:
    """Depthwise conv: :class:`DepthwiseConv2d` for one kernel, :class:`MixedConv2d` for several (as timm)."""
    if len(kernel_sizes) == 1:
        return DepthwiseConv2d(channels, kernel_sizes[0], stride, padding)
    return MixedConv2d(channels, kernel_sizes, stride, padding)
