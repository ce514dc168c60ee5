"""tools/deployment/ (export, INT8 quantization, evaluation, the plain inference example), run as a user runs them,
against tools/test.py."""
import json
import re
import subprocess
import sys

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from conftest import FAST, REPO, SHAPES_CONFIG, latest_checkpoint, run_tool

COCO_LINE = re.compile(r'^ Average (?:Precision|Recall) .* = (-?[\d.]+)$', re.MULTILINE)
ROW = re.compile(r'^(\S+) +(-?[\d.]+) +([\d.]+) +([\d.]+)$', re.MULTILINE)  # name, bbox mAP, median ms, mean ms
SIZE = 160
SHAPES_CLASSES = ['circle', 'rectangle', 'triangle', 'star', 'cross', 'ring']


def tool_options(shapes_root):
    """The 192-px images tested at 160 px (so that boxes are scaled back), score_thr 0 (the 2-iteration model
    predicts boxes), the fast settings."""
    return ['--cfg-options', f'data_root={shapes_root}/', 'model.test_cfg.score_thr=0.0',
            f'test_dataloader.dataset.pipeline.1.scale=({SIZE},{SIZE})', *FAST]


@pytest.fixture(scope='module')
def exported(shapes_root, trained_work_dir, tmp_path_factory):
    """(checkpoint, exported model, export_onnx.py's output) of the 2-iteration model."""
    checkpoint, model = latest_checkpoint(trained_work_dir), tmp_path_factory.mktemp('export') / 'model.onnx'
    result = run_tool('tools/deployment/export_onnx.py', SHAPES_CONFIG, checkpoint, '--out', model,
                      *tool_options(shapes_root))
    return checkpoint, model, result.stdout


def test_exported_model_is_self_describing(exported):
    checkpoint, model, stdout = exported
    assert re.search(rf'model\.onnx: input \[1, 3, {SIZE}, {SIZE}\], opset 17, \d+ nodes .*NonMaxSuppression 1', stdout)
    metadata = ort.InferenceSession(str(model), providers=['CPUExecutionProvider']).get_modelmeta() \
        .custom_metadata_map
    assert json.loads(metadata['classes']) == SHAPES_CLASSES
    assert json.loads(metadata['input_format']) == dict(layout='NCHW', channels='BGR', range=[0, 255],
                                                        dtype='float32', height=SIZE, width=SIZE)
    assert metadata['mixdet.checkpoint'] == checkpoint.name and metadata['mixdet.config'] == \
        'ssdlite_mixnet-s_1xb8-1k_shapes.py'
    assert not [value for value in metadata.values() if '/' in value]  # file names only, no paths


def test_onnx_runtime_map_equals_pytorch(shapes_root, exported, tmp_path):
    """The exported model scores as tools/test.py, and test_onnx.py finds the checkpoint through the metadata."""
    checkpoint, model, _ = exported
    (model.parent / checkpoint.name).symlink_to(checkpoint)  # beside the model, as `make demo` leaves it
    evaluated = run_tool('tools/deployment/test_onnx.py', SHAPES_CONFIG, model, '--threads', '1',
                         *tool_options(shapes_root)).stdout
    (model.parent / checkpoint.name).unlink()
    tested = run_tool('tools/test.py', SHAPES_CONFIG, checkpoint, '--work-dir', tmp_path,
                      *tool_options(shapes_root)).stdout
    onnx_numbers, torch_numbers = COCO_LINE.findall(evaluated)[:12], COCO_LINE.findall(evaluated)[12:]
    expected = COCO_LINE.findall(tested)
    assert len(onnx_numbers) == len(torch_numbers) == len(expected) == 12
    assert max(map(float, expected)) > 0  # the comparison is not between two empty results
    for got in (onnx_numbers, torch_numbers):
        assert all(abs(float(a) - float(b)) <= 0.005 for a, b in zip(got, expected)), (got, expected)
    rows = {name: numbers for name, *numbers in ROW.findall(evaluated)}
    assert set(rows) == {'model.onnx', 'PyTorch'}
    assert float(rows['model.onnx'][0]) == float(onnx_numbers[0])


def test_int8_model_is_quantized_and_scores_like_float(shapes_root, exported, tmp_path):
    checkpoint, model, _ = exported
    int8 = tmp_path / 'model_int8.onnx'
    quantized = run_tool('tools/deployment/quantize_onnx.py', SHAPES_CONFIG, model, '--out', int8,
                         '--calib-images', '4', *tool_options(shapes_root)).stdout
    assert re.search(r'model_int8\.onnx: INT8 QDQ \(per-channel weights, minmax calibration on 4 training '
                     r'images\), \d+ nodes kept in float', quantized)
    graph = onnx.load(int8).graph
    producers = {output: node for node in graph.node for output in node.output}
    scales = {tensor.name: onnx.numpy_helper.to_array(tensor) for tensor in graph.initializer}
    network_convs = [node for node in graph.node if node.op_type == 'Conv' and node.name.startswith('/backbone/')]
    assert network_convs
    for conv in network_convs:  # int8 weights with one scale per output channel, int8 activations
        weight = producers[conv.input[1]]
        assert weight.op_type == 'DequantizeLinear' and producers[conv.input[0]].op_type == 'DequantizeLinear'
        assert scales[weight.input[1]].shape == scales[weight.input[0]].shape[:1]
    head_outputs = [node for node in graph.node if node.op_type == 'Conv' and '/cls_convs.0.1/' in node.name]
    assert len(head_outputs) == 1 and head_outputs[0].input[1] not in producers  # float weights
    nms = next(node for node in graph.node if node.op_type == 'NonMaxSuppression')
    assert all(producers[name].op_type != 'DequantizeLinear' for name in nms.input[:2] if name in producers)
    metadata = {p.key: p.value for p in onnx.load(int8).metadata_props}
    assert json.loads(metadata['classes']) == SHAPES_CLASSES and 'mixdet.quantization' in metadata

    evaluated = run_tool('tools/deployment/test_onnx.py', SHAPES_CONFIG, model, int8, '--checkpoint', checkpoint,
                         '--threads', '1', *tool_options(shapes_root)).stdout
    numbers = COCO_LINE.findall(evaluated)
    assert len(numbers) == 36  # float, INT8, PyTorch
    float_numbers, int8_numbers = numbers[:12], numbers[12:24]
    assert max(map(float, float_numbers)) > 0
    assert all(abs(float(a) - float(b)) <= 0.01 for a, b in zip(int8_numbers, float_numbers)), \
        (int8_numbers, float_numbers)
    assert {name for name, *_ in ROW.findall(evaluated)} == {'model.onnx', 'model_int8.onnx', 'PyTorch'}


def test_test_onnx_refuses_another_checkpoint(shapes_root, exported, tmp_path):
    _, model, _ = exported
    other = tmp_path / 'other.pth'
    other.write_bytes(b'not the exported weights')
    result = run_tool('tools/deployment/test_onnx.py', SHAPES_CONFIG, model, '--checkpoint', other,
                      *tool_options(shapes_root), check=False)
    assert result.returncode != 0 and 'Traceback' not in result.stdout
    assert result.stdout.strip().splitlines()[-1] == \
        f'{model} was exported from another checkpoint than {other} (SHA-256 differs)'


def test_onnx_infer_draws_the_detections_without_openmmlab(shapes_root, exported, tmp_path):
    _, model, _ = exported
    image_path, out = sorted((shapes_root / 'val').iterdir())[0], tmp_path / 'detections.png'
    # Run the example as a script and list what it imported.
    code = ('import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__"); '
            'print("imported:", sorted({m.split(".")[0] for m in sys.modules} & '
            '{"mmdet", "mmcv", "mmengine", "mixdet", "torch"}))')
    result = subprocess.run([sys.executable, '-c', code, str(REPO / 'tools/deployment/onnx_infer.py'),
                             str(image_path), str(model), '--out', str(out), '--score-thr', '0'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=True)
    assert result.stdout.strip().splitlines()[-1] == 'imported: []'
    image = cv2.imread(str(image_path))
    session = ort.InferenceSession(str(model), providers=['CPUExecutionProvider'])
    resized = cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1)[None]
    _, labels = session.run(None, {'input': resized.astype(np.float32)})
    lines = re.findall(r'^(\w+) [\d.]+ \[\d+, \d+, \d+, \d+\]$', result.stdout, re.MULTILINE)
    assert lines == [SHAPES_CLASSES[label] for label in labels[0] if label >= 0] and lines
    drawn = cv2.imread(str(out))
    assert drawn.shape == image.shape and (drawn != image).any()


def test_export_refuses_an_unsupported_model_in_one_sentence(trained_work_dir, tmp_path):
    result = run_tool('tools/deployment/export_onnx.py', SHAPES_CONFIG, latest_checkpoint(trained_work_dir),
                      '--out', tmp_path / 'model.onnx', '--cfg-options', 'model.test_cfg.nms.type=soft_nms',
                      check=False)
    assert result.returncode != 0 and 'Traceback' not in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("cannot export test_cfg.nms={'type': 'soft_nms'")
    assert not (tmp_path / 'model.onnx').exists()


def test_benchmark_onnx_prints_interleaved_latency_table(exported, tmp_path):
    checkpoint = exported[0]
    mobilenet = str(REPO / 'configs/shapes/ssdlite_mobilenetv2_1xb8-1k_shapes.py')
    result = run_tool('tools/deployment/benchmark_onnx.py', mobilenet, SHAPES_CONFIG, '--checkpoints', 'random',
                      checkpoint, '--shape', '96', '--threads', '1', '--runs', '3', '--warmup', '1').stdout
    rows = re.findall(r'^(\S+) +(\d+) +(\d+) +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+)$', result,
                      re.MULTILINE)
    assert [row[:3] for row in rows] == [('ssdlite_mobilenetv2_1xb8-1k_shapes', '96', '1'),
                                         ('ssdlite_mixnet-s_1xb8-1k_shapes', '96', '1')]
    (_, _, _, first_median, _, first_ratio, _, _, _), (_, _, _, median, p90, ratio, macs, graph_macs, params) = rows
    assert float(first_ratio) == 1.0 and float(p90) >= float(median) > 0
    assert abs(float(ratio) - float(median) / float(first_median)) <= 0.01
    assert float(graph_macs) >= float(macs) > 0 and float(params) == 3.06  # MixNet-S shapes detector
    refused = run_tool('tools/deployment/benchmark_onnx.py', SHAPES_CONFIG, '--checkpoints', 'random', 'random',
                       check=False)
    assert refused.returncode != 0 and 'takes one entry per config (1), got 2' in refused.stdout
