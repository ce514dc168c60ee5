"""Zero padding that exports as one ONNX ``Pad`` with constant pads.

torch's TorchScript exporter writes ``F.pad`` as a subgraph that computes the pads (ConstantOfShape,
Concat, Slice, Transpose, ...), which its constant folding leaves in place; TF 'same' padding should be
visible in the graph as explicit numbers.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


class _ExplicitPad(torch.autograd.Function):
    """``F.pad(input, pads)``; exported as ``Pad(input, constant pads)``. pads: (left, right, top, bottom)."""

    @staticmethod
    def forward(ctx, input: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
        return F.pad(input, pads)

    @staticmethod
    def symbolic(g, input, pads: tuple[int, int, int, int]):
        left, right, top, bottom = pads
        onnx_pads = torch.tensor([0, 0, top, left, 0, 0, bottom, right], dtype=torch.long)
        return g.op('Pad', input, g.op('Constant', value_t=onnx_pads), mode_s='constant')


def explicit_pad(input: torch.Tensor, left: int, right: int, top: int, bottom: int) -> torch.Tensor:
    """Zero-pad the last two dims of [N, C, H, W]: ``F.pad``, or a constant-pads ONNX ``Pad`` during export."""
    pads = (int(left), int(right), int(top), int(bottom))
    if not any(pads):
        return input
    if torch.onnx.is_in_onnx_export():
        return _ExplicitPad.apply(input, pads)
    return F.pad(input, pads)
