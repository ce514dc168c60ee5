"""Exported files as untrusted input: a missing, garbled, cut or edited .onnx is one line naming it."""
import io

import onnx
import pytest
import torch

from mixdet.deploy.onnx_file import OnnxFileError, open_detector, read_metadata

from conftest import SHAPES_CONFIG, run_tool


class _Detector(torch.nn.Module):
    """The exported interface in miniature: input [N, 3, H, W] -> dets [N, K, 5], labels [N, K]."""

    def forward(self, input):
        pooled = input.mean((1, 2, 3))
        return pooled[:, None, None].expand(-1, 2, 5), pooled[:, None].expand(-1, 2).long()


def exported(dynamic_size=False) -> bytes:
    buffer = io.BytesIO()
    axes = {'input': {0: 'n', 2: 'h', 3: 'w'}} if dynamic_size else None
    torch.onnx.export(_Detector(), torch.zeros(1, 3, 16, 16), buffer, input_names=['input'],
                      output_names=['dets', 'labels'], dynamic_axes=axes, dynamo=False)
    return buffer.getvalue()


def renamed_output() -> bytes:
    model = onnx.load_from_string(exported())
    old = model.graph.output[1].name
    model.graph.output[1].name = 'classes'
    for node in model.graph.node:
        node.output[:] = ['classes' if name == old else name for name in node.output]
    return model.SerializeToString()


def tampered_files(tmp_path) -> dict:
    good = exported()
    contents = {'empty': b'', 'garbage': b'not a model at all', 'cut': good[:len(good) // 2],
                'dynamic size': exported(dynamic_size=True), 'renamed output': renamed_output()}
    paths = {}
    for name, content in contents.items():
        paths[name] = tmp_path / f'{name.replace(" ", "_")}.onnx'
        paths[name].write_bytes(content)
    paths['missing'] = tmp_path / 'missing.onnx'
    return paths


def test_a_good_file_opens(tmp_path):
    (tmp_path / 'good.onnx').write_bytes(exported())
    assert [i.name for i in open_detector(str(tmp_path / 'good.onnx'), threads=1).get_inputs()] == ['input']
    assert read_metadata(str(tmp_path / 'good.onnx')) == {}


def test_tampered_files_are_one_line_naming_them(tmp_path):
    for name, path in tampered_files(tmp_path).items():
        with pytest.raises(OnnxFileError) as error:
            open_detector(str(path), threads=1)
        assert str(path) in str(error.value) and '\n' not in str(error.value), (name, str(error.value))


def test_the_tools_refuse_a_tampered_file_in_one_line(tmp_path):
    bad = tampered_files(tmp_path)['cut']
    for tool, args in (('tools/deployment/test_onnx.py', [SHAPES_CONFIG, bad]),
                       ('tools/deployment/quantize_onnx.py', [SHAPES_CONFIG, bad, '--out', tmp_path / 'int8.onnx'])):
        result = run_tool(tool, *args, check=False)
        assert result.returncode != 0 and 'Traceback' not in result.stdout, result.stdout[-2000:]
        assert str(bad) in result.stdout.strip().splitlines()[-1]
