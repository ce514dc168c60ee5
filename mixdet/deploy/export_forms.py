"""Export-time forms of MixNet's layers that ONNX Runtime (CPU) runs fast; the PyTorch model is left as it is.

:func:`deploy_copy` returns a copy of a detector that computes the same function with:

* each :class:`~mixdet.layers.GroupedConv2d` (MixNet's 2-group 1x1, traced as Split/Conv/Concat, after which
  BatchNorm cannot fold) as **one** ``nn.Conv2d``, so that the exporter folds the following BatchNorm into it:
  with ``groups`` (:func:`grouped_pointwise_form` 'grouped') or as the dense conv with a block-diagonal weight
  ('dense'), by the measured rule of :func:`grouped_pointwise_form`;
* each :class:`~mixdet.layers.SqueezeExcite` averaging with ``adaptive_avg_pool2d`` (ONNX ``GlobalAveragePool``,
  which ONNX Runtime runs in its blocked NCHWc layout) instead of ``mean`` (``ReduceMean``, which it runs in NCHW,
  with a layout reorder of the whole activation before and after).

The detector, its modules and its state_dict (timm's keys) are not touched. Measurements: docs/deployment.md.
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mixdet.layers import GroupedConv2d, SqueezeExcite

# ONNX Runtime's NCHWc kernels take a grouped Conv only when every group's input and output widths are multiples
# of the CPU's channel block (8 with AVX2, 16 with AVX-512); otherwise the Conv runs in NCHW between two reorders.
NCHWC_BLOCK = 16
# Below this C_in * C_out / (C_in + C_out), the reorders of an NCHW grouped Conv cost more than the dense Conv's
# doubled multiply-adds (measured per layer: docs/deployment.md, "The per-layer rules, measured").
GROUPED_MIN_WIDTH = 48


def grouped_pointwise_form(in_splits: Sequence[int], out_splits: Sequence[int]) -> str:
    """'grouped' (one Conv with ``group``) or 'dense' (block-diagonal weight) for a grouped 1x1 conv.

    'grouped' where the groups are equal and either every group width is a multiple of NCHWC_BLOCK or
    C_in * C_out / (C_in + C_out) >= GROUPED_MIN_WIDTH; 'dense' otherwise.
    """
    if len(set(in_splits)) > 1 or len(set(out_splits)) > 1:
        return 'dense'  # ONNX Conv groups are equal
    if all(width % NCHWC_BLOCK == 0 for width in (*in_splits, *out_splits)):
        return 'grouped'
    in_channels, out_channels = sum(in_splits), sum(out_splits)
    return 'grouped' if in_channels * out_channels / (in_channels + out_channels) >= GROUPED_MIN_WIDTH else 'dense'


def grouped_as_conv(grouped: GroupedConv2d, form: str) -> nn.Conv2d:
    """The bias-free ``nn.Conv2d`` that computes ``grouped``: ``form`` 'grouped' (weight [C_out, C_in / G, 1, 1],
    ``groups=G``; equal groups only) or 'dense' (block-diagonal weight [C_out, C_in, 1, 1])."""
    weights = [conv.weight.detach() for conv in grouped]
    if form == 'grouped':
        conv = nn.Conv2d(grouped.in_channels, grouped.out_channels, 1, groups=len(weights), bias=False)
        conv.weight.data.copy_(torch.cat(weights))
    else:
        conv = nn.Conv2d(grouped.in_channels, grouped.out_channels, 1, bias=False)
        conv.weight.data.copy_(torch.block_diag(*[weight[:, :, 0, 0] for weight in weights])[:, :, None, None])
    return conv


def pointwise_conv(grouped: GroupedConv2d) -> nn.Conv2d:
    """``grouped`` as one ``nn.Conv2d`` in the form :func:`grouped_pointwise_form` picks."""
    return grouped_as_conv(grouped, grouped_pointwise_form(grouped.in_splits, [conv.out_channels for conv in grouped]))


class PooledSqueezeExcite(nn.Module):
    """:class:`SqueezeExcite` (sharing its modules), squeezing with ``adaptive_avg_pool2d``: [N, C, H, W] -> same."""

    def __init__(self, se: SqueezeExcite):
        super().__init__()
        self.conv_reduce, self.act1, self.conv_expand = se.conv_reduce, se.act1, se.conv_expand

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.conv_expand(self.act1(self.conv_reduce(F.adaptive_avg_pool2d(x, 1))))
        return x * scale.sigmoid()


def deploy_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` (in eval mode) with the export forms of the module docstring swapped in."""
    model = copy.deepcopy(model).eval()
    for name, module in list(model.named_modules()):
        if isinstance(module, GroupedConv2d):
            replacement = pointwise_conv(module)
        elif isinstance(module, SqueezeExcite):
            replacement = PooledSqueezeExcite(module)
        else:
            continue
        parent, _, attribute = name.rpartition('.')
        setattr(model.get_submodule(parent), attribute, replacement)
    return model
