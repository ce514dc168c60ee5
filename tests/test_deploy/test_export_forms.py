"""The export-time forms (export_forms.py, onnx_fold.py, the MixConv "auto" rule): same function, measured rules."""
import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from mixdet.deploy.export_forms import deploy_copy, grouped_as_conv, grouped_pointwise_form
from mixdet.deploy.onnx_fold import fold_batchnorms
from mixdet.deploy.onnx_graph import op_types
from mixdet.layers import GroupedConv2d, MixedConv2d, SqueezeExcite
from mixdet.models.backbones.mixnet import MixNet
from mixdet.ops.mixconv_onnx import layer_form, onnx_mixconv_form


@pytest.mark.parametrize('in_channels,out_channels,groups,form', [
    (40, 240, 2, 'grouped'), (40, 240, 2, 'dense'), (480, 80, 2, 'grouped'), (480, 80, 2, 'dense'),
    (10, 7, 3, 'dense'),  # unequal splits: ONNX Conv groups are equal, so only the dense form exists
])
def test_grouped_1x1_as_one_conv_computes_the_same(in_channels, out_channels, groups, form):
    torch.manual_seed(0)
    grouped = GroupedConv2d(in_channels, out_channels, groups)
    x = torch.randn(2, in_channels, 5, 6)
    conv = grouped_as_conv(grouped, form)
    assert conv.groups == (groups if form == 'grouped' else 1)
    torch.testing.assert_close(conv(x), grouped(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('in_splits,out_splits,form', [
    ([20, 20], [120, 120], 'dense'),  # 40 -> 240: C_in * C_out / (C_in + C_out) = 34
    ([240, 240], [40, 40], 'grouped'),  # 480 -> 80: 69
    ([120, 120], [40, 40], 'grouped'),  # 240 -> 80: 60
    ([8, 8], [48, 48], 'dense'),  # 16 -> 96 at MixNet-S's stage 1
    ([16, 16], [32, 32], 'grouped'),  # every width a multiple of the NCHWc block
    ([4, 3, 3], [8, 8, 8], 'dense'),  # unequal groups
])
def test_grouped_1x1_form_rule(in_splits, out_splits, form):
    assert grouped_pointwise_form(in_splits, out_splits) == form


@pytest.mark.parametrize('size,kernels,stride,padding,expected', [
    ((10, 10), (3, 5, 7, 9), 1, 'symmetric', 'split'),  # 100 output pixels
    ((12, 12), (3, 5, 7, 9), 1, 'symmetric', 'padded'),
    ((20, 20), (3, 5, 7, 9, 11), 2, 'same', 'split'),  # 10x10 out
    ((40, 40), (3, 5, 7), 2, 'symmetric', 'padded'),
])
def test_mixconv_auto_rule(size, kernels, stride, padding, expected):
    assert layer_form(size, kernels, stride, padding, 1) == expected
    with onnx_mixconv_form('padded'):
        assert layer_form(size, kernels, stride, padding, 1) == 'padded'
        assert layer_form((12, 12), (1, 3), 2, 'same', 1) == 'split'  # TF clamps the 1x1's pad: exactness wins


def test_deploy_copy_computes_the_same_and_leaves_the_model_alone():
    torch.manual_seed(0)
    backbone = MixNet('s', out_indices=(2, 'stage5_expansion', 6)).eval()
    keys = list(backbone.state_dict())
    copy = deploy_copy(backbone)
    assert not any(isinstance(m, (GroupedConv2d, SqueezeExcite)) for m in copy.modules())
    assert list(backbone.state_dict()) == keys and any(isinstance(m, GroupedConv2d) for m in backbone.modules())
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        for got, expected in zip(copy(x), backbone(x)):
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_batchnorm_after_split_mixconv_is_folded():
    torch.manual_seed(0)
    norm = nn.BatchNorm2d(40)
    norm.running_mean.normal_(0, 0.5), norm.running_var.uniform_(0.5, 2)
    norm.weight.data.normal_(1, 0.2), norm.bias.data.normal_(0, 0.5)
    module = nn.Sequential(MixedConv2d(40, (3, 5, 7)), norm).eval()
    x = torch.randn(1, 40, 9, 9)
    buffer = io.BytesIO()
    with onnx_mixconv_form('split'), torch.no_grad():
        torch.onnx.export(module, (x,), buffer, dynamo=False, opset_version=17, input_names=['x'])
        expected = module(x).numpy()
    model = onnx.load_from_string(buffer.getvalue())
    assert op_types(model)['BatchNormalization'] == 1 and fold_batchnorms(model) == 1
    assert 'BatchNormalization' not in op_types(model) and op_types(model)['Conv'] == 3
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=['CPUExecutionProvider'])
    np.testing.assert_allclose(session.run(None, {'x': x.numpy()})[0], expected, rtol=1e-5, atol=1e-5)
