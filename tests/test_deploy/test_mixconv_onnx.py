"""MixConv and TF 'same' padding export as standard ONNX operators and run in ONNX Runtime like PyTorch."""
import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from mixdet.deploy.onnx_graph import custom_domain_nodes, op_types
from mixdet.layers import MixedConv2d
from mixdet.layers.conv2d import DepthwiseConv2d, PaddedConv2d
from mixdet.ops.mixconv_onnx import onnx_mixconv_form


def export_and_run(module, x, form='split'):
    """(ONNX model, ONNX Runtime output, PyTorch output) of ``module`` on ``x``."""
    buffer = io.BytesIO()
    with onnx_mixconv_form(form), torch.no_grad():
        torch.onnx.export(module.eval(), (x,), buffer, dynamo=False, opset_version=17)
        expected = module(x).numpy()
    session = ort.InferenceSession(buffer.getvalue(), providers=['CPUExecutionProvider'])
    return onnx.load_from_string(buffer.getvalue()), session.run(None, {session.get_inputs()[0].name: x.numpy()})[0], \
        expected


def constant_pads(model):
    """The pads of every Pad node, read from the Constant nodes that feed them."""
    constants = {node.output[0]: onnx.numpy_helper.to_array(node.attribute[0].t).tolist()
                 for node in model.graph.node if node.op_type == 'Constant'}
    return [constants[node.input[1]] for node in model.graph.node if node.op_type == 'Pad']


@pytest.mark.parametrize('padding', ['symmetric', 'same'])
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('form', ['split', 'padded'])
def test_mixconv_exports_as_standard_convs(padding, stride, form, monkeypatch):
    monkeypatch.setenv('MIXDET_MIXCONV_IMPL', 'fused')  # the fused op must not reach the graph
    torch.manual_seed(0)
    module = MixedConv2d(40, (3, 5, 7, 9), stride, padding)
    model, got, expected = export_and_run(module, torch.randn(2, 40, 15, 16), form)
    np.testing.assert_allclose(got, expected, atol=2e-5, rtol=1e-5)
    assert custom_domain_nodes(model) == []
    ops = op_types(model)
    convs, pads, splits = (4, 4, 1) if form == 'split' else (1, 1, 0)
    assert ops['Conv'] == convs and ops.get('Split', 0) == ops.get('Concat', 0) == splits
    if padding == 'symmetric':
        assert 'Pad' not in ops
    else:  # TF 'same': explicit constant pads, bottom/right get the odd pixel at stride 2
        assert ops['Pad'] == pads and {'ConstantOfShape', 'Shape'}.isdisjoint(ops)
        assert all(p[:2] == [0, 0] and p[4:6] == [0, 0] for p in constant_pads(model))


def test_padded_form_keeps_split_where_tf_clamps_the_padding():
    """Kernel 1 at stride 2 on an even size gets no 'same' pad; a zero ring would shift it: split instead."""
    torch.manual_seed(0)
    model, got, expected = export_and_run(MixedConv2d(8, (1, 3), 2, 'same'), torch.randn(1, 8, 12, 12), 'padded')
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert op_types(model)['Conv'] == 2


def test_same_padding_of_plain_convs_is_explicit():
    torch.manual_seed(0)
    for module in (PaddedConv2d(3, 8, 3, 2, 'same'), DepthwiseConv2d(8, 5, 2, 'same')):
        x = torch.randn(1, module.in_channels, 17, 16)
        model, got, expected = export_and_run(module, x)
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert op_types(model)['Pad'] == 1 and len(constant_pads(model)) == 1


def test_unknown_form_is_named():
    with pytest.raises(ValueError, match="one of \\('auto', 'padded', 'split'\\), got 'fused'"):
        with onnx_mixconv_form('fused'):
            pass
