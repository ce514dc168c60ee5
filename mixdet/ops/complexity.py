"""Parameter and multiply-add counts of a model (backbone or detector) at a given input size."""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode, register_flop_formula

from mixdet.ops._loader import LOAD_ERROR

if LOAD_ERROR is None:
    @register_flop_formula(torch.ops.mixdet.mixconv2d)
    def _mixconv2d_flops(x_shape, w_shapes, pads, stride, dilation, *, out_shape, **kwargs) -> int:
        """2 FLOPs per multiply-add: each output element of group g ([C_g, 1, k_g, k_g]) takes k_g^2 of them."""
        batch, _, height, width = out_shape
        return 2 * batch * height * width * sum(c * kh * kw for c, _, kh, kw in w_shapes)


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_macs(model: torch.nn.Module, height: int, width: int) -> int:
    """Multiply-adds of one forward pass of a [1, 3, height, width] input (convolutions and matmuls).

    Detectors run their tensor-mode forward (backbone, neck and head; no post-processing).
    ``torch.utils.flop_counter`` counts 2 FLOPs per multiply-add.
    """
    was_training = model.training
    model.eval()
    x = torch.zeros(1, 3, height, width)
    forward = getattr(model, '_forward', None)
    with FlopCounterMode(display=False) as counter:
        forward(x) if forward is not None else model(x)
    model.train(was_training)
    return counter.get_total_flops() // 2
