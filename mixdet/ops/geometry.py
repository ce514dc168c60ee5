"""Padding geometry of MixConv and the plain convolutions around it: the one place for the padding rules.

* ``'symmetric'``: ``dilation * (k - 1) // 2`` zeros on every side (PyTorch's convention, timm's ``mixnet_*``);
* ``'same'``: TensorFlow's SAME: the output has ``ceil(size / stride)`` elements, an odd total pad puts the extra
  zero after (bottom/right) (the TF MixNet reference, timm's ``tf_mixnet_*``).

Every forward path (the reference split/conv/cat, the fused op's arguments, the ONNX form, ``PaddedConv2d``) and
every padding check (the op's arguments, the layers at build time) takes its numbers and its error from here.
"""
from __future__ import annotations

import math
from typing import Sequence

PADDING_MODES = ('symmetric', 'same')


def check_padding(padding: str) -> str:
    """``padding`` when it is one of :data:`PADDING_MODES`, else ValueError naming it."""
    if padding not in PADDING_MODES:
        raise ValueError(f'padding must be one of {PADDING_MODES}, got {padding!r}')
    return padding


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding (before, after) of one spatial axis.

    The output has ``ceil(size / stride)`` elements; an odd total pad puts the
    extra element after (bottom/right), as TF does.
    """
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def symmetric_padding(kernel: int, dilation: int) -> int:
    """PyTorch-style padding ``dilation * (k - 1) // 2`` on every side (timm's ``mixnet_*``)."""
    return dilation * (kernel - 1) // 2


def same_pads(height: int, width: int, kernel: int, stride: int, dilation: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) zeros that 'same' padding puts around an [H, W] plane (``F.pad``'s order)."""
    (top, bottom), (left, right) = (same_padding(int(size), kernel, stride, dilation) for size in (height, width))
    return left, right, top, bottom


def conv_padding(kernel: int, padding: str, dilation: int) -> int:
    """The ``padding`` argument of the convolution itself: k // 2 (dilated) for 'symmetric', 0 for 'same' (whose
    zeros are padded explicitly before, :func:`same_pads`)."""
    return symmetric_padding(kernel, dilation) if check_padding(padding) == 'symmetric' else 0


def op_pads(kernels: Sequence[int], stride: int, padding: str, dilation: int, height: int, width: int) -> list[int]:
    """(pad_top, pad_left) of each group as the compiled op takes them; bottom/right follow from the output size."""
    pads = []
    for k in kernels:
        if padding == 'same':
            left, _, top, _ = same_pads(height, width, k, stride, dilation)
            pads += [top, left]
        else:
            pads += [symmetric_padding(k, dilation)] * 2
    return pads


def output_size(size: int, kernel: int, stride: int, padding: str, dilation: int) -> int:
    """Output elements along one axis of ``size`` for a convolution with this kernel, stride and padding."""
    if padding == 'same':
        return -(-size // stride)
    return (size + 2 * symmetric_padding(kernel, dilation) - dilation * (kernel - 1) - 1) // stride + 1
