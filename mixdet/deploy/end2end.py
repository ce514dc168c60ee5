"""The exported computation: an SSD detector from BGR pixels to boxes, labels and scores, in one module.

:class:`End2EndDetector` runs what ``detector.predict(..., rescale=False)`` runs (the data preprocessor's
normalization, backbone, neck, head, mmdet's ``_predict_by_feat_single`` and mmcv's ``batched_nms``) on
batched tensors with fixed output shapes, so that ``torch.onnx.export`` can trace it; eagerly its
predictions equal ``predict``'s.
"""
from __future__ import annotations

import torch
from torch import nn

from .box_decode import delta2bbox_batched
from .nms import batched_nms


class End2EndDetector(nn.Module):
    """input [N, 3, H, W] float32 BGR pixels (0-255, the test size) -> dets [N, K, 5], labels [N, K] int64.

    dets rows are (x1, y1, x2, y2, score) in input pixels, in descending score order; K is the head's
    ``test_cfg.max_per_img``; rows past the detections are zeros with label -1 (mmdeploy's end2end
    outputs). The detector must pass :func:`mixdet.deploy.support.check_exportable`.
    """

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector
        head = detector.bbox_head
        self.test_cfg = head.test_cfg
        self.num_classes = head.num_classes

    def preprocess(self, input: torch.Tensor) -> torch.Tensor:
        """What ``DetDataPreprocessor`` does to a batch at the test size: channel order, then normalization."""
        preprocessor = self.detector.data_preprocessor
        if preprocessor._channel_conversion:
            input = input[:, [2, 1, 0]]
        if preprocessor._enable_normalize:
            input = (input - preprocessor.mean) / preprocessor.std
        return input

    def level_candidates(self, cls_score: torch.Tensor, bbox_pred: torch.Tensor, priors: torch.Tensor
                         ) -> tuple[torch.Tensor, ...]:
        """mmdet's ``filter_scores_and_topk`` for one level of a batch, with a fixed number of candidates.

        cls_score [B, A * (C + 1), H, W] (softmax, background last), bbox_pred [B, A * 4, H, W], priors
        [H * W * A, 4] -> scores, labels, valid [B, k] and deltas, priors [B, k, 4], where k =
        min(nms_pre, H * W * A * C): the k best (anchor, class) pairs, valid where the score is above score_thr.
        """
        batch = cls_score.shape[0]
        logits = cls_score.permute(0, 2, 3, 1).reshape(batch, -1, self.num_classes + 1)
        scores = logits.softmax(-1)[..., :-1]
        flat = scores.reshape(batch, -1)
        scores, index = flat.topk(min(self.test_cfg.nms_pre, flat.shape[1]), dim=1)
        anchors = torch.div(index, self.num_classes, rounding_mode='floor')
        deltas = bbox_pred.permute(0, 2, 3, 1).reshape(batch, -1, 4)
        deltas = deltas.gather(1, anchors[..., None].expand(-1, -1, 4))
        return scores, index % self.num_classes, scores > self.test_cfg.get('score_thr', 0), deltas, priors[anchors]

    def forward(self, input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        head = self.detector.bbox_head
        cls_scores, bbox_preds = head(self.detector.extract_feat(self.preprocess(input)))
        mlvl_priors = head.prior_generator.grid_priors([s.shape[-2:] for s in cls_scores], dtype=input.dtype,
                                                       device=input.device)
        levels = [self.level_candidates(*level) for level in zip(cls_scores, bbox_preds, mlvl_priors)]
        scores, labels, valid, deltas, priors = (torch.cat(parts, 1) for parts in zip(*levels))
        coder = head.bbox_coder
        boxes = delta2bbox_batched(priors, deltas, coder.means, coder.stds,
                                   tuple(input.shape[-2:]) if coder.clip_border else None)
        min_size = self.test_cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            valid = valid & (boxes[..., 2] - boxes[..., 0] > min_size) & (boxes[..., 3] - boxes[..., 1] > min_size)
        nms_cfg = self.test_cfg.nms
        return batched_nms(boxes, scores, labels, valid, nms_cfg.iou_threshold, self.test_cfg.max_per_img,
                           nms_cfg.get('class_agnostic', False))
