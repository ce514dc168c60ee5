"""Pure-PyTorch mixed depthwise convolution (MixConv): the oracle for every fast path.

MixConv (Tan & Le, "MixConv: Mixed Depthwise Convolutional Kernels", BMVC 2019,
arXiv 1907.09595) splits the C input channels into groups and runs a depthwise
convolution with its own k_i x k_i kernel on each group. This file holds the
argument checks shared by all implementations and the split -> conv -> cat
reference; the padding rules are :mod:`mixdet.ops.geometry`'s.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .autocast import autocast_arguments
from .explicit_pad import explicit_pad
from .geometry import check_padding, conv_padding, same_pads


def split_channels(channels: int, num_groups: int) -> list[int]:
    """Split ``channels`` into ``num_groups`` sizes as the TF MixNet reference does.

    Every group gets ``channels // num_groups``; the remainder goes to the first
    group (the one with the smallest kernel). ``split_channels(10, 3) == [4, 3, 3]``.
    """
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ValueError(f'channels must be a positive int, got {channels!r}')
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1:
        raise ValueError(f'num_groups must be a positive int, got {num_groups!r}')
    if num_groups > channels:
        raise ValueError(f'cannot split {channels} channels into {num_groups} groups')
    sizes = [channels // num_groups] * num_groups
    sizes[0] += channels - sum(sizes)
    return sizes


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name} must be a positive int, got {value!r}')
    return value


def check_mixconv_args(input: torch.Tensor, weights: Sequence[torch.Tensor], bias: Optional[torch.Tensor],
                       stride: int, padding: str, dilation: int) -> list[int]:
    """Validate the arguments of :func:`mixconv2d`; return the kernel size of each group.

    Raises TypeError for non-tensors and ValueError for every other bad value,
    naming the value.
    """
    if not isinstance(input, torch.Tensor):
        raise TypeError(f'input must be a torch.Tensor, got {type(input).__name__}')
    if input.dim() != 4:
        raise ValueError(f'input must be 4-D (N, C, H, W), got shape {tuple(input.shape)}')
    if not input.is_floating_point():
        raise TypeError(f'input must be a floating point tensor, got dtype {input.dtype}')
    if isinstance(weights, torch.Tensor) or not isinstance(weights, (list, tuple)):
        raise TypeError('weights must be a list or tuple of [C_i, 1, k_i, k_i] tensors, '
                        f'got {type(weights).__name__}')
    if len(weights) == 0:
        raise ValueError('weights must hold at least one kernel')
    _check_positive_int('stride', stride)
    _check_positive_int('dilation', dilation)
    check_padding(padding)
    kernels = []
    for i, w in enumerate(weights):
        if not isinstance(w, torch.Tensor):
            raise TypeError(f'weights[{i}] must be a torch.Tensor, got {type(w).__name__}')
        if w.dim() != 4 or w.shape[1] != 1 or w.shape[2] != w.shape[3] or w.shape[0] < 1:
            raise ValueError(f'weights[{i}] must have shape [C_i, 1, k, k], got {tuple(w.shape)}')
        k = w.shape[2]
        if k % 2 == 0:
            raise ValueError(f'weights[{i}] has an even kernel size {k}; MixConv kernels must be odd')
        if w.dtype != input.dtype:
            raise TypeError(f'weights[{i}] has dtype {w.dtype} but input has dtype {input.dtype}')
        if w.device != input.device:
            raise ValueError(f'weights[{i}] is on {w.device} but input is on {input.device}')
        kernels.append(k)
    total = sum(w.shape[0] for w in weights)
    if total != input.shape[1]:
        raise ValueError(f'the kernels cover {total} channels ({[w.shape[0] for w in weights]}) '
                         f'but input has {input.shape[1]} channels')
    if bias is not None:
        if not isinstance(bias, torch.Tensor):
            raise TypeError(f'bias must be a torch.Tensor or None, got {type(bias).__name__}')
        if bias.shape != (input.shape[1],):
            raise ValueError(f'bias must have shape ({input.shape[1]},), got {tuple(bias.shape)}')
        if bias.dtype != input.dtype or bias.device != input.device:
            raise TypeError(f'bias is {bias.dtype} on {bias.device} but input is {input.dtype} on {input.device}')
    return kernels


def mixconv2d_reference(input: torch.Tensor, weights: Sequence[torch.Tensor], bias: Optional[torch.Tensor] = None,
                        stride: int = 1, padding: str = 'symmetric', dilation: int = 1) -> torch.Tensor:
    """Mixed depthwise convolution by split -> one depthwise ``F.conv2d`` per group -> cat.

    Args:
        input: [N, C, H, W], contiguous or channels_last.
        weights: kernels ``[C_i, 1, k_i, k_i]`` with ``sum(C_i) == C``; group i takes the next C_i channels.
        bias: optional [C].
        stride, dilation: positive ints, the same for every group.
        padding: 'symmetric' (``dilation * (k - 1) // 2`` each side, timm ``mixnet_*``) or 'same'
            (TensorFlow SAME, extra pad bottom/right at stride 2, timm ``tf_mixnet_*``).

    Returns:
        [N, C, H_out, W_out] in the memory format of ``input``; inside ``torch.autocast`` in the autocast
        dtype, as a convolution (:mod:`mixdet.ops.autocast`).
    """
    input, weights, bias = autocast_arguments(input, weights, bias)
    check_mixconv_args(input, weights, bias, stride, padding, dilation)
    return split_conv_cat(input, weights, bias, stride, padding, dilation)


def split_conv_cat(input: torch.Tensor, weights: Sequence[torch.Tensor], bias: Optional[torch.Tensor],
                   stride: int, padding: str, dilation: int) -> torch.Tensor:
    """The computation of :func:`mixconv2d_reference` on arguments already checked by ``check_mixconv_args``."""
    channels_last = input.is_contiguous(memory_format=torch.channels_last) and not input.is_contiguous()
    sizes = [w.shape[0] for w in weights]
    pieces = torch.split(input, sizes, dim=1)
    biases = torch.split(bias, sizes) if bias is not None else [None] * len(weights)
    outputs = []
    height, width = input.shape[-2:]
    for x, w, b in zip(pieces, weights, biases):
        k = w.shape[-1]
        if padding == 'same':
            x = explicit_pad(x, *same_pads(height, width, k, stride, dilation))
        outputs.append(F.conv2d(x, w, b, stride, conv_padding(k, padding, dilation), dilation, groups=w.shape[0]))
    out = torch.cat(outputs, dim=1)
    return out.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
