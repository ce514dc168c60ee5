"""batched_nms: eagerly mmcv's batched_nms + max_per_img, exported as ONNX NonMaxSuppression with the same result."""
import io

import numpy as np
import onnxruntime as ort
import pytest
import torch
from mmcv.ops import batched_nms as mmcv_batched_nms

from mixdet.deploy.nms import batched_nms

IOU, MAX_PER_IMG = 0.45, 20


class NMS(torch.nn.Module):
    def __init__(self, class_agnostic=False):
        super().__init__()
        self.class_agnostic = class_agnostic

    def forward(self, boxes, scores, labels, valid):
        return batched_nms(boxes, scores, labels, valid, IOU, MAX_PER_IMG, self.class_agnostic)


def candidates(batch=2, num=60, classes=3, seed=0):
    """Clustered random boxes [B, M, 4] in a 100-pixel image, scores, labels and a validity mask."""
    gen = torch.Generator().manual_seed(seed)
    centers = torch.rand(batch, 6, 2, generator=gen)[:, torch.randint(6, (num,), generator=gen)] * 80 + 10
    sizes = torch.rand(batch, num, 2, generator=gen) * 30 + 5
    jitter = torch.randn(batch, num, 2, generator=gen) * 3
    boxes = torch.cat([centers + jitter - sizes / 2, centers + jitter + sizes / 2], 2)
    scores = torch.rand(batch, num, generator=gen)
    return boxes, scores, torch.randint(classes, (batch, num), generator=gen), scores > 0.2


def mmcv_reference(boxes, scores, labels, valid, class_agnostic=False):
    """What mmdet's _bbox_post_process keeps for one image: mmcv batched_nms, then the first max_per_img."""
    dets, keep = mmcv_batched_nms(boxes[valid], scores[valid], labels[valid],
                                  dict(type='nms', iou_threshold=IOU, class_agnostic=class_agnostic))
    return dets[:MAX_PER_IMG], labels[valid][keep][:MAX_PER_IMG]


def kept_rows(dets, labels):
    return dets[labels >= 0], labels[labels >= 0]


@pytest.mark.parametrize('class_agnostic', [False, True])
def test_eager_equals_mmcv_batched_nms(class_agnostic):
    boxes, scores, labels, valid = candidates()
    dets, out_labels = NMS(class_agnostic)(boxes, scores, labels, valid)
    assert dets.shape == (2, MAX_PER_IMG, 5) and out_labels.dtype == torch.long
    for image in range(2):
        expected_dets, expected_labels = mmcv_reference(boxes[image], scores[image], labels[image], valid[image],
                                                        class_agnostic)
        got_dets, got_labels = kept_rows(dets[image], out_labels[image])
        assert len(expected_dets) > 5
        torch.testing.assert_close(got_dets, expected_dets, rtol=0, atol=0)
        assert torch.equal(got_labels, expected_labels)
        assert (dets[image][out_labels[image] < 0] == 0).all()


def run_onnx(module, inputs):
    """Export ``module`` with ``inputs`` as example (batch dynamic) and run it on ``inputs`` in ONNX Runtime."""
    buffer, names = io.BytesIO(), ['boxes', 'scores', 'labels', 'valid']
    torch.onnx.export(module, inputs, buffer, dynamo=False, opset_version=17, input_names=names,
                      output_names=['dets', 'labels_out'], dynamic_axes={name: {0: 'batch'} for name in names})
    session = ort.InferenceSession(buffer.getvalue(), providers=['CPUExecutionProvider'])
    return session.run(None, {name: t.numpy() for name, t in zip(names, inputs)})


@pytest.mark.parametrize('num', [60, 200, 7])  # 7: fewer candidates than MAX_PER_IMG
def test_onnx_runtime_equals_eager(num):
    inputs = candidates(batch=3, num=num, seed=num)
    expected, got = NMS()(*inputs), run_onnx(NMS(), inputs)
    np.testing.assert_allclose(got[0], expected[0].numpy(), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(got[1], expected[1].numpy())


def test_no_valid_candidate_gives_empty_rows():
    boxes, scores, labels, valid = candidates()
    inputs = boxes, scores, labels, torch.zeros_like(valid)
    for dets, out_labels in (NMS()(*inputs), run_onnx(NMS(), inputs)):
        assert (np.asarray(out_labels) == -1).all() and (np.asarray(dets) == 0).all()
