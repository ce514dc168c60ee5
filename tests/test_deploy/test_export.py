"""export_onnx: S/M/L and the MobileNetV2 baseline as portable ONNX that ONNX Runtime runs like PyTorch."""
import onnx
import pytest
import torch

from mixdet.deploy import End2EndDetector, ExportError, custom_domain_nodes, export_onnx
from mixdet.deploy.onnx_graph import op_types
from mixdet.layers import MixedConv2d

from deploy_helpers import (COCO_CONFIGS, SHAPES_CONFIG, assert_same_detections, build_detector, images,
                            onnx_predictions, pytorch_predictions)

SIZE = 192  # below the COCO configs' 320 to keep the suite short; the graph is the same at any size

EXPORTS = [('mixnet-s', 'symmetric'), ('mixnet-s', 'same'), ('mixnet-m', 'symmetric'), ('mixnet-m', 'same'),
           ('mixnet-l', 'symmetric'), ('mixnet-l', 'same'), ('mobilenetv2', None)]


@pytest.mark.parametrize('arch,padding', EXPORTS)
def test_onnx_runtime_reproduces_pytorch(arch, padding, tmp_path):
    options = {'model.test_cfg.score_thr': 0.0}  # max_per_img (200) detections to compare
    if padding is not None:
        options['model.backbone.padding'] = padding
    model = build_detector(COCO_CONFIGS[arch], **options)
    path = tmp_path / 'model.onnx'
    onnx_model = export_onnx(model, str(path), (SIZE, SIZE))
    assert custom_domain_nodes(onnx_model) == [] and 'NonMaxSuppression' in op_types(onnx_model)
    assert [i.name for i in onnx_model.graph.input] == ['input']
    assert [o.name for o in onnx_model.graph.output] == ['dets', 'labels']
    batch = images(SIZE, count=1)
    (got,), (expected,) = onnx_predictions(path, batch), pytorch_predictions(model, batch)
    assert len(expected[0]) == 200
    assert_same_detections(got, expected, top=100)


def test_end2end_module_equals_predict_eagerly():
    model = build_detector(SHAPES_CONFIG, **{'model.test_cfg.score_thr': 0.0})
    batch = images(192, count=2)
    with torch.no_grad():
        dets, labels = End2EndDetector(model)(batch.float())
    assert dets.shape == (2, 50, 5) and labels.shape == (2, 50)
    for image, (boxes, scores, expected_labels) in enumerate(pytorch_predictions(model, batch)):
        found = labels[image] >= 0
        torch.testing.assert_close(dets[image, found, :4], boxes, rtol=0, atol=0)
        torch.testing.assert_close(dets[image, found, 4], scores, rtol=0, atol=0)
        assert torch.equal(labels[image, found], expected_labels)


def test_dynamic_batch_split_mixconv_and_opset_11(tmp_path):
    model = build_detector(SHAPES_CONFIG)
    path = tmp_path / 'model.onnx'
    onnx_model = export_onnx(model, str(path), (192, 192), opset=11, dynamic_batch=True, mixconv_form='split',
                             metadata={'mixdet.checkpoint': 'ckpt.pth'})
    splits = sum(isinstance(m, MixedConv2d) for m in model.modules())  # grouped 1x1 convs export as one Conv
    assert onnx_model.opset_import[0].version == 11 and op_types(onnx_model)['Split'] == splits
    concats = {node.output[0] for node in onnx_model.graph.node if node.op_type == 'Concat'}
    assert not [node for node in onnx_model.graph.node if node.op_type == 'BatchNormalization'
                and node.input[0] in concats]  # the split MixConvs' BatchNorms are folded into their Convs
    assert {p.key: p.value for p in onnx.load(path).metadata_props} == {'mixdet.checkpoint': 'ckpt.pth'}
    batch = images(192, count=3)
    for got, expected in zip(onnx_predictions(path, batch), pytorch_predictions(model, batch)):
        assert_same_detections(got, expected)


@pytest.mark.parametrize('options,message', [
    ({'model.test_cfg.nms.type': 'soft_nms'}, "cannot export test_cfg.nms={'type': 'soft_nms'"),
    ({'model.test_cfg.min_bbox_size': 4}, 'cannot export test_cfg.min_bbox_size=4'),
    ({'model.data_preprocessor.pad_size_divisor': 128}, 'cannot export at input size (192, 192)'),
])
def test_unsupported_settings_are_refused_in_one_sentence(options, message, tmp_path):
    with pytest.raises(ExportError) as error:
        export_onnx(build_detector(SHAPES_CONFIG, **options), str(tmp_path / 'm.onnx'), (192, 192))
    assert str(error.value).startswith(message) and '\n' not in str(error.value)
    assert not (tmp_path / 'm.onnx').exists()


class CompiledMixConv(torch.nn.Module):
    """A MixConv layer that calls the compiled op itself instead of mixconv2d: it has no ONNX form."""

    def __init__(self, mixconv):
        super().__init__()
        self.mixconv = mixconv

    def forward(self, x):
        kernels = list(self.mixconv.kernel_sizes)
        return torch.ops.mixdet.mixconv2d(x, [conv.weight for conv in self.mixconv],
                                          [k // 2 for k in kernels for _ in range(2)], self.mixconv.stride, 1)


def test_an_operator_without_onnx_form_is_refused(tmp_path):
    model = build_detector(SHAPES_CONFIG)
    name, mixconv = next((n, m) for n, m in model.backbone.named_modules() if isinstance(m, MixedConv2d))
    parent, _, attribute = name.rpartition('.')
    setattr(model.backbone.get_submodule(parent), attribute, CompiledMixConv(mixconv))
    with pytest.raises(ExportError) as error:
        export_onnx(model, str(tmp_path / 'm.onnx'), (192, 192))
    assert str(error.value) == ('cannot export the model: ONNX export failed on an operator with unrecognized '
                                'namespace mixdet::mixconv2d')


def test_bad_opset_is_refused(tmp_path):
    with pytest.raises(ExportError, match=r'^cannot export with --opset 10: choose 11 to \d+'):
        export_onnx(build_detector(SHAPES_CONFIG), str(tmp_path / 'm.onnx'), (192, 192), opset=10)
