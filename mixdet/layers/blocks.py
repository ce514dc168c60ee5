"""MixNet building blocks (TF MixNet reference, ``mixnet_model.py``; timm module names and state_dict keys).

* :class:`SqueezeExcite`: global pool -> 1x1 reduce -> block activation -> 1x1 expand -> sigmoid gate.
* :class:`DepthwiseSeparableBlock`: MixConv -> BN -> act -> SE -> 1x1 -> BN (+ residual).
* :class:`InvertedResidualBlock`: 1x1 expand -> BN -> act -> MixConv -> BN -> act -> SE -> 1x1 -> BN (+ residual).

Residual connections only where stride is 1 and input and output widths agree. The
projection has no activation.
"""
from __future__ import annotations

from typing import Callable

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from .conv2d import build_depthwise, build_pointwise


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation on [N, C, H, W] with ``reduced_channels`` hidden units (biased 1x1 convs)."""

    def __init__(self, channels: int, reduced_channels: int, act_layer: Callable[[], nn.Module]):
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, reduced_channels, 1, bias=True)
        self.act1 = act_layer()
        self.conv_expand = nn.Conv2d(reduced_channels, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.conv_expand(self.act1(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return x * scale.sigmoid()


def _se_or_identity(channels: int, reduced: int, act_layer) -> nn.Module:
    return SqueezeExcite(channels, reduced, act_layer) if reduced > 0 else nn.Identity()


class DepthwiseSeparableBlock(nn.Module):
    """MixNet ``ds`` block. Shapes: [N, C_in, H, W] -> [N, C_out, H / stride, W / stride]."""

    def __init__(self, in_channels: int, out_channels: int, dw_kernels, stride: int, pw_groups: int,
                 se_channels: int, act_layer, norm_cfg: dict, padding: str, skip: bool):
        super().__init__()
        self.has_residual = skip and stride == 1 and in_channels == out_channels
        self.conv_dw = build_depthwise(in_channels, dw_kernels, stride, padding)
        self.bn1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.act1 = act_layer()
        self.se = _se_or_identity(in_channels, se_channels, act_layer)
        self.conv_pw = build_pointwise(in_channels, out_channels, pw_groups, padding)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.se(self.act1(self.bn1(self.conv_dw(x))))
        out = self.bn2(self.conv_pw(out))
        return out + x if self.has_residual else out


class InvertedResidualBlock(nn.Module):
    """MixNet ``ir`` block. Shapes: [N, C_in, H, W] -> [N, C_out, H / stride, W / stride].

    :meth:`forward_with_expansion` also returns the expansion output (after ``bn1`` and
    ``act1``, before the depthwise conv), [N, mid_channels, H, W], where the MobileNetV2
    paper attaches SSDLite.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int, dw_kernels, stride: int,
                 exp_groups: int, pw_groups: int, se_channels: int, act_layer, norm_cfg: dict, padding: str,
                 skip: bool):
        super().__init__()
        self.has_residual = skip and stride == 1 and in_channels == out_channels
        self.conv_pw = build_pointwise(in_channels, mid_channels, exp_groups, padding)
        self.bn1 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.act1 = act_layer()
        self.conv_dw = build_depthwise(mid_channels, dw_kernels, stride, padding)
        self.bn2 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.act2 = act_layer()
        self.se = _se_or_identity(mid_channels, se_channels, act_layer)
        self.conv_pwl = build_pointwise(mid_channels, out_channels, pw_groups, padding)
        self.bn3 = build_norm_layer(norm_cfg, out_channels)[1]

    def forward_with_expansion(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        expansion = self.act1(self.bn1(self.conv_pw(x)))
        out = self.se(self.act2(self.bn2(self.conv_dw(expansion))))
        out = self.bn3(self.conv_pwl(out))
        return (out + x if self.has_residual else out), expansion

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_expansion(x)[0]
