"""The graph ONNX Runtime actually runs for SSDLite-MixNet: what should be fused or folded away is gone.

ONNX Runtime's extended optimization level (the fusions of every CPU, before the hardware-specific NCHWc layout)
writes the optimized graph; its operator types are listed and checked.
"""
import onnx
import onnxruntime as ort
import pytest

from mixdet.deploy import export_onnx
from mixdet.deploy.onnx_graph import op_types

from deploy_helpers import COCO_CONFIGS, SHAPES_CONFIG, build_detector

SIZE = 192
# Node types that must not survive ONNX Runtime's fusions in a MixNet detector: BatchNorm folds into its Conv,
# the SE squeeze is a GlobalAveragePool, TF 'same' Pads merge into their Conv, ReLU and the SE gate's sigmoid
# into theirs (SiLU becomes QuickGelu).
MUST_VANISH = {'BatchNormalization', 'ReduceMean', 'Pad', 'Relu', 'Sigmoid'}


def optimized_graph(model, tmp_path, **export_options):
    """The ORT_ENABLE_EXTENDED-optimized graph of ``model`` exported at SIZE (and the exported model)."""
    path, optimized = tmp_path / 'model.onnx', tmp_path / 'optimized.onnx'
    exported = export_onnx(model, str(path), (SIZE, SIZE), **export_options)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(optimized)
    ort.InferenceSession(str(path), options, providers=['CPUExecutionProvider'])
    return onnx.load(optimized), exported


def unfused(graph_model):
    """(node types of MUST_VANISH present, backbone Split/Concat nodes outside a MixConv layer)."""
    splits = [node.name for node in graph_model.graph.node if node.op_type in ('Split', 'Concat')
              and node.name.startswith('/backbone/') and '/conv_dw/' not in node.name]
    return sorted(MUST_VANISH & set(op_types(graph_model))), splits


@pytest.mark.parametrize('config,padding', [(SHAPES_CONFIG, 'symmetric'), (COCO_CONFIGS['mixnet-s'], 'same'),
                                            (COCO_CONFIGS['mixnet-l'], 'symmetric')])
def test_onnx_runtime_graph_has_no_unfused_nodes(config, padding, tmp_path):
    graph_model, exported = optimized_graph(build_detector(config, **{'model.backbone.padding': padding}), tmp_path)
    assert unfused(graph_model) == ([], [])
    assert 'BatchNormalization' not in op_types(exported)  # folded in the file already, for any runtime
    ops = op_types(graph_model)
    assert ops['QuickGelu'] > 0 and ops['GlobalAveragePool'] > 0 and 'NonMaxSuppression' in ops


def test_the_check_sees_the_unfused_export(tmp_path):
    """Exported without the fast forms, the grouped 1x1 convs' BatchNorms (and the ReLUs after them) and SE's
    ReduceMean stay."""
    graph_model, _ = optimized_graph(build_detector(SHAPES_CONFIG), tmp_path, mixconv_form='padded',
                                     fast_forms=False)
    vanished, splits = unfused(graph_model)
    assert vanished == ['BatchNormalization', 'ReduceMean', 'Relu']
    assert len(splits) == 2 * 21  # Split and Concat of each of MixNet-S's 21 grouped 1x1 convs
