"""Synthetic detection batches: random images and boxes, for loss steps that need no dataset."""
from __future__ import annotations

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData


def synthetic_batch(size: int, batch: int, num_classes: int, boxes: int = 3,
                    seed: int = 0) -> tuple[torch.Tensor, list[DetDataSample]]:
    """Images [batch, 3, size, size] and one DetDataSample per image with ``boxes`` random boxes (12 px and more,
    inside the image) of random classes; fixed ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(batch):
        xy = torch.rand(boxes, 2, generator=gen) * size * 0.6
        wh = 12 + torch.rand(boxes, 2, generator=gen) * size * 0.3
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size), ori_shape=(size, size),
                                             scale_factor=(1.0, 1.0), batch_input_shape=(size, size)))
        sample.gt_instances = InstanceData(bboxes=torch.cat([xy, (xy + wh).clamp(max=size)], 1),
                                           labels=torch.randint(0, num_classes, (boxes, ), generator=gen))
        samples.append(sample)
    return torch.randn(batch, 3, size, size, generator=gen), samples
