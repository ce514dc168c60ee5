"""Per-class NMS that exports as ONNX ``NonMaxSuppression`` and runs mmcv's ``nms`` in eager mode.

:func:`batched_nms` reproduces what mmdet's ``_bbox_post_process`` does with mmcv's ``batched_nms``
(class offsets, greedy NMS, the first ``max_per_img`` kept boxes), for a batch of images at once and
with fixed output shapes (mmdeploy's end2end layout).
"""
from __future__ import annotations

import torch
from mmcv.ops import nms


class NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` (corner boxes); eagerly, mmcv's ``nms`` per image and class.

    boxes [B, M, 4] (x1, y1, x2, y2), scores [B, C, M] -> selected [S, 3] int64 rows (image, class, box):
    per image and class, the boxes NMS keeps, in descending score order, at most ``max_per_class``.
    Boxes whose score is not above ``score_threshold`` are never selected.
    """

    @staticmethod
    def forward(ctx, boxes: torch.Tensor, scores: torch.Tensor, max_per_class: int, iou_threshold: float,
                score_threshold: float) -> torch.Tensor:
        selected = [boxes.new_zeros((0, 3), dtype=torch.long)]
        for image in range(scores.shape[0]):
            for label in range(scores.shape[1]):
                candidates = torch.nonzero(scores[image, label] > score_threshold).squeeze(1)
                _, keep = nms(boxes[image, candidates], scores[image, label, candidates], iou_threshold)
                keep = candidates[keep[:max_per_class]]
                selected.append(torch.stack([torch.full_like(keep, image), torch.full_like(keep, label), keep], 1))
        return torch.cat(selected)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class: int, iou_threshold: float, score_threshold: float):
        return g.op('NonMaxSuppression', boxes, scores,
                    g.op('Constant', value_t=torch.tensor([max_per_class], dtype=torch.long)),
                    g.op('Constant', value_t=torch.tensor([iou_threshold], dtype=torch.float)),
                    g.op('Constant', value_t=torch.tensor([score_threshold], dtype=torch.float)))


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor,
                iou_threshold: float, max_per_img: int, class_agnostic: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """NMS within each class (mmcv's offset trick) over the valid candidates of each image.

    Args:
        boxes: [B, M, 4] candidate boxes; scores: [B, M], positive where valid; labels: [B, M] int64;
        valid: [B, M] bool, the candidates that take part.

    Returns:
        dets [B, max_per_img, 5] (x1, y1, x2, y2, score) in descending score order and labels
        [B, max_per_img] int64; rows past the kept boxes are zeros with label -1.
    """
    if boxes.shape[1] < max_per_img:  # the final top-k needs max_per_img candidates: pad with invalid ones
        pad = max_per_img - boxes.shape[1]
        boxes, scores = torch.cat([boxes, boxes.new_zeros(boxes.shape[0], pad, 4)], 1), \
            torch.cat([scores, scores.new_zeros(scores.shape[0], pad)], 1)
        labels = torch.cat([labels, labels.new_zeros(labels.shape[0], pad)], 1)
        valid = torch.cat([valid, valid.new_zeros(valid.shape[0], pad)], 1)
    boxes_for_nms = boxes
    if not class_agnostic:  # as mmcv: shift each class by label * (largest coordinate + 1)
        max_coordinate = boxes.masked_fill(~valid[..., None], 0).flatten(1).max(1).values
        offsets = labels.to(boxes) * (max_coordinate[:, None] + 1)
        boxes_for_nms = boxes + offsets[..., None]
    nms_scores = torch.where(valid, scores, torch.full_like(scores, -1))
    selected = NonMaxSuppression.apply(boxes_for_nms, nms_scores[:, None], max_per_img, iou_threshold, 0.0)
    kept = torch.zeros_like(scores).index_put((selected[:, 0], selected[:, 2]), torch.ones_like(selected[:, 0],
                                                                                                dtype=scores.dtype))
    ranked, order = torch.where(kept > 0, nms_scores, torch.full_like(scores, -1)).topk(max_per_img, dim=1)
    found = ranked > 0
    dets = torch.cat([boxes.gather(1, order[..., None].expand(-1, -1, 4)), ranked[..., None]], 2)
    dets = torch.where(found[..., None], dets, torch.zeros_like(dets))
    return dets, torch.where(found, labels.gather(1, order), torch.full_like(order, -1))
