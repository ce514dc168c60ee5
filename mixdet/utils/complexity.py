"""Parameter and multiply-add counts of a model (backbone or detector) at a given input size."""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode


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
