"""Box decoding of the exported graph: mmdet's ``delta2bbox`` for batched [B, M, 4] tensors."""
from __future__ import annotations

import math
from typing import Sequence

import torch


def delta2bbox_batched(priors: torch.Tensor, deltas: torch.Tensor, means: Sequence[float], stds: Sequence[float],
                       max_shape: tuple[int, int] | None, wh_ratio_clip: float = 16 / 1000) -> torch.Tensor:
    """``DeltaXYWHBBoxCoder.decode`` (without center clamp) op for op, so eager results are bit-identical.

    priors, deltas: [B, M, 4]; ``max_shape`` (H, W) clips x to [0, W] and y to [0, H] (None: no clipping).
    Returns boxes [B, M, 4] (x1, y1, x2, y2). No in-place slice updates, so it traces to plain ONNX ops.
    """
    denorm = deltas * deltas.new_tensor(stds) + deltas.new_tensor(means)
    dxy, dwh = denorm[..., :2], denorm[..., 2:]
    pxy = (priors[..., :2] + priors[..., 2:]) * 0.5
    pwh = priors[..., 2:] - priors[..., :2]
    dxy_wh = pwh * dxy
    max_ratio = abs(math.log(wh_ratio_clip))
    dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    boxes = torch.cat([gxy - (gwh * 0.5), gxy + (gwh * 0.5)], dim=-1)
    if max_shape is not None:
        height, width = max_shape
        boxes = torch.minimum(boxes.clamp(min=0), boxes.new_tensor([width, height, width, height]))
    return boxes
