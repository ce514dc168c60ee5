"""Detectors with random but decisive weights, generated images, and PyTorch / ONNX Runtime predictions."""

import numpy as np
import onnxruntime as ort
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mixdet.datasets.shapes import image_rng, render_image

from conftest import REPO

COCO_CONFIGS = {arch: f'configs/ssdlite_mixnet/ssdlite_{arch}-scratch_8xb24-600e_coco.py'
                for arch in ('mixnet-s', 'mixnet-m', 'mixnet-l', 'mobilenetv2')}
SHAPES_CONFIG = 'configs/shapes/ssdlite_mixnet-s_1xb8-1k_shapes.py'
VAR_FLOOR, HEAD_GAIN = 0.1, 2.0  # running variance floor: no channel amplifies fp32 noise


def build_detector(config, seed=0, **options):
    """The config's detector in eval mode with random weights whose predictions depend on the image.

    Freshly initialised, a deep network's signal fades layer by layer and every image gets nearly the same
    detections. Here BatchNorm statistics are measured on generated images (every layer passes a normalised
    signal on) with running variances of at least VAR_FLOOR (a near-constant channel divided by a tiny
    variance would turn fp32 rounding into 1e-3 logit differences), BN affine parameters are random and the
    head's convolutions give logits of standard deviation about HEAD_GAIN: unsaturated, spread scores.
    """
    cfg = Config.fromfile(REPO / config)
    cfg.merge_from_dict(options)
    init_default_scope('mmdet')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the calibration batch
        norm.weight.data.uniform_(0.5, 1.5)
        norm.bias.data.normal_(0, 0.1)
    for conv in model.bbox_head.modules():
        if isinstance(conv, torch.nn.Conv2d):
            fan_in = conv.weight[0].numel()
            conv.weight.data.normal_(0, HEAD_GAIN / fan_in ** 0.5)
    model.train()
    with torch.no_grad():
        batch = model.data_preprocessor(dict(inputs=list(images(192, count=4, seed=seed + 100))), False)['inputs']
        model.bbox_head(model.extract_feat(batch))
    for norm in norms:
        norm.running_var.clamp_(min=VAR_FLOOR)
    return model.eval()


def images(size, count=2, seed=5):
    """[count, 3, size, size] uint8 BGR shapes-dataset images."""
    return torch.stack([torch.from_numpy(render_image(image_rng(seed, 'val', i), size)[0]).permute(2, 0, 1)
                        for i in range(count)])


def pytorch_predictions(model, batch):
    """mmdet's own test path (data preprocessor, predict, mmcv NMS) on uint8 [N, 3, H, W]: (boxes, scores, labels)."""
    height, width = batch.shape[-2:]
    samples = [DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                           scale_factor=(1.0, 1.0))) for _ in batch]
    with torch.no_grad():
        results = model.test_step(dict(inputs=list(batch), data_samples=samples))
    return [(r.pred_instances.bboxes, r.pred_instances.scores, r.pred_instances.labels) for r in results]


def onnx_predictions(path, batch):
    """ONNX Runtime (CPU) on float32 [N, 3, H, W]: per image (boxes, scores, labels) of the rows with a label."""
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    dets, labels = session.run(None, {'input': batch.numpy().astype(np.float32)})
    return [(torch.from_numpy(d[l >= 0, :4]), torch.from_numpy(d[l >= 0, 4]), torch.from_numpy(l[l >= 0]))
            for d, l in zip(dets, labels)]


def assert_same_detections(got, expected, top=100):
    """Each of ``expected``'s ``top`` best detections is in ``got`` with the same label, its box within 1e-3
    (relative, or 1e-3 px near 0) and its score within 1e-4; the top scores agree in order within 1e-4."""
    got_boxes, got_scores, got_labels = got
    boxes, scores, labels = (t[:top] for t in expected)
    assert len(boxes) > 0
    torch.testing.assert_close(got_scores[:len(scores)], scores, rtol=0, atol=1e-4)
    used = torch.zeros(len(got_boxes), dtype=torch.bool)
    for box, score, label in zip(boxes, scores, labels):
        close = (got_labels == label) & ~used & ((got_scores - score).abs() <= 1e-4) & \
            ((got_boxes - box).abs() <= 1e-3 * box.abs().clamp(min=1)).all(1)
        assert close.any(), f'no ONNX detection has label {int(label)}, score {float(score):.6f}, box {box.tolist()}'
        used[close.nonzero()[0, 0]] = True
