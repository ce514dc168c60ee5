"""The exported graph's post-processing as the config says it: the score threshold, box clipping on non-square
inputs, and the ONNX evaluation's rescaling of each axis back to the image."""
import runpy

import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import scale_boxes
from mmengine.structures import InstanceData

from mixdet.deploy import export_onnx

from deploy_helpers import (REPO, SHAPES_CONFIG, assert_same_detections, build_detector, images, onnx_predictions,
                            pytorch_predictions)


def test_the_configured_score_threshold_is_the_one_the_graph_uses(tmp_path):
    batch = images(192, count=1)
    everything = pytorch_predictions(build_detector(SHAPES_CONFIG, **{'model.test_cfg.score_thr': 0.0}), batch)
    threshold = float(everything[0][1][10])  # the 11th best score: the threshold keeps ten detections
    model = build_detector(SHAPES_CONFIG, **{'model.test_cfg.score_thr': threshold})
    export_onnx(model, str(tmp_path / 'model.onnx'), (192, 192))
    (got,), (expected,) = onnx_predictions(tmp_path / 'model.onnx', batch), pytorch_predictions(model, batch)
    assert len(expected[0]) == 10 and len(got[0]) == 10 and bool((got[1] > threshold).all())
    assert_same_detections(got, expected)


def test_a_non_square_input_clips_boxes_like_pytorch(tmp_path):
    """160 x 224 (height x width): objects cut by the bottom edge, random boxes crossing the right one."""
    batch = images(224, count=1)[:, :, 64:].contiguous()
    model = build_detector(SHAPES_CONFIG, **{'model.test_cfg.score_thr': 0.0})
    export_onnx(model, str(tmp_path / 'model.onnx'), (160, 224))
    (got,), (expected,) = onnx_predictions(tmp_path / 'model.onnx', batch), pytorch_predictions(model, batch)
    boxes = expected[0]
    assert bool((boxes[:, 2] == 224).any()) and bool((boxes[:, 3] == 160).any()), 'no box reaches the edges'
    assert float(boxes[:, [1, 3]].max()) <= 160 and float(boxes[:, [0, 2]].max()) <= 224
    assert_same_detections(got, expected)


def test_the_onnx_evaluation_rescales_each_axis_as_mmdet():
    ort_sample = runpy.run_path(str(REPO / 'tools/deployment/test_onnx.py'))['ort_sample']
    sample = DetDataSample(metainfo=dict(scale_factor=(2.0, 0.5), img_shape=(100, 400), ori_shape=(200, 200)))
    dets = torch.tensor([[10.0, 20.0, 30.0, 40.0, 0.9], [0, 0, 0, 0, 0]]).numpy()
    result = ort_sample(sample, dets, torch.tensor([3, -1]).numpy())
    expected = scale_boxes(torch.tensor([[10.0, 20.0, 30.0, 40.0]]), [1 / s for s in sample.metainfo['scale_factor']])
    torch.testing.assert_close(result.pred_instances.bboxes, expected)
    assert isinstance(result.pred_instances, InstanceData) and result.pred_instances.labels.tolist() == [3]
