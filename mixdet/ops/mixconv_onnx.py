"""MixConv in standard ONNX operators: what ``mixconv2d`` runs while ``torch.onnx.export`` traces a model.

Two forms give the same result, chosen with :func:`onnx_mixconv_form` (``ONNX_FORMS``):

* 'padded': one depthwise Conv whose kernels are zero-padded (centred) to the largest kernel size: more
  multiply-adds, but no Split/Concat copies, and ONNX Runtime (CPU) keeps it in its blocked NCHWc layout;
* 'split': Split -> one depthwise Conv per kernel size -> Concat, the reference computation. The padded
  form falls back to it where TF 'same' padding is clamped at 0 for a small kernel (the zero ring would
  shift that group);
* 'auto' (default): per layer, 'split' where its output has at most ``AUTO_SPLIT_MAX_PIXELS`` pixels per
  channel, else 'padded'. Measured per layer in ONNX Runtime (``benchmark_mixconv_forms.py --layers``):
  padded is 1.2-6x faster from 12x12 outputs up, split 1.1-1.2x faster on the 6x6 and 10x10 outputs of
  MixNet's last stage, where the padded form's zero taps cost more than the copies.

TensorFlow 'same' padding is an explicit ``Pad`` (constant pads) before the Conv; no custom-domain node.
ONNX Runtime timings of the two forms: docs/deployment.md.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional, Sequence

import torch
import torch.nn.functional as F

from .explicit_pad import explicit_pad
from .geometry import conv_padding, output_size, same_padding, same_pads

ONNX_FORMS = ('auto', 'padded', 'split')
AUTO_SPLIT_MAX_PIXELS = 100
_form = ['auto']


@contextlib.contextmanager
def onnx_mixconv_form(form: str) -> Iterator[None]:
    """Export MixConv in ``form`` ('auto' | 'padded' | 'split') inside the ``with`` block."""
    if form not in ONNX_FORMS:
        raise ValueError(f'the ONNX MixConv form must be one of {ONNX_FORMS}, got {form!r}')
    previous, _form[0] = _form[0], form
    try:
        yield
    finally:
        _form[0] = previous


def _depthwise(input: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], stride: int, padding: str,
               dilation: int) -> torch.Tensor:
    """One depthwise conv [N, C, H, W] -> [N, C, H_out, W_out]; 'same' padding as an explicit Pad."""
    kernel = int(weight.shape[-1])
    if padding == 'same':
        input = explicit_pad(input, *same_pads(*input.shape[-2:], kernel, stride, dilation))
    return F.conv2d(input, weight, bias, stride, conv_padding(kernel, padding, dilation), dilation,
                    groups=int(weight.shape[0]))


def _zero_ring(weight: torch.Tensor, width: int) -> torch.Tensor:
    """[C, 1, k, k] -> [C, 1, k + 2 * width, k + 2 * width] with zeros around (by cat: the exporter needs the shape)."""
    if width == 0:
        return weight
    rows = weight.new_zeros(weight.shape[0], 1, width, weight.shape[3])
    weight = torch.cat([rows, weight, rows], 2)
    columns = weight.new_zeros(weight.shape[0], 1, weight.shape[2], width)
    return torch.cat([columns, weight, columns], 3)


def _padded_form_is_exact(size: Sequence[int], kernels: Sequence[int], stride: int, padding: str,
                          dilation: int) -> bool:
    """Whether every group's 'same' pads equal the largest kernel's minus its zero ring (not where TF clamps)."""
    if padding != 'same':
        return True
    largest = max(kernels)
    return all(same_padding(s, k, stride, dilation)[0] + (largest - k) // 2 * dilation
               == same_padding(s, largest, stride, dilation)[0] for s in size for k in kernels)


def layer_form(size: Sequence[int], kernels: Sequence[int], stride: int, padding: str, dilation: int) -> str:
    """The form ('padded' | 'split') a MixConv layer on an input of ``size`` (H, W) is exported in."""
    form = _form[0]
    if form == 'auto':
        height, width = (output_size(s, max(kernels), stride, padding, dilation) for s in size)
        pixels = height * width
        form = 'split' if pixels <= AUTO_SPLIT_MAX_PIXELS else 'padded'
    if form == 'padded' and not _padded_form_is_exact(size, kernels, stride, padding, dilation):
        return 'split'
    return form


def mixconv2d_onnx(input: torch.Tensor, weights: Sequence[torch.Tensor], bias: Optional[torch.Tensor], stride: int,
                   padding: str, dilation: int) -> torch.Tensor:
    """MixConv on checked arguments in the form chosen by :func:`onnx_mixconv_form`; shapes as ``mixconv2d``."""
    kernels = [int(w.shape[-1]) for w in weights]
    if len(weights) == 1:
        return _depthwise(input, weights[0], bias, stride, padding, dilation)
    if layer_form([int(s) for s in input.shape[-2:]], kernels, stride, padding, dilation) == 'padded':
        largest = max(kernels)
        weight = torch.cat([_zero_ring(w, (largest - k) // 2) for w, k in zip(weights, kernels)])
        return _depthwise(input, weight, bias, stride, padding, dilation)
    sizes = [int(w.shape[0]) for w in weights]  # python ints: one Split with constant sizes
    biases = torch.split(bias, sizes) if bias is not None else [None] * len(weights)
    return torch.cat([_depthwise(x, w, b, stride, padding, dilation)
                      for x, w, b in zip(torch.split(input, sizes, dim=1), weights, biases)], dim=1)
