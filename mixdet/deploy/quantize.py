"""INT8 post-training static quantization of an exported detector with ONNX Runtime's quantization tools.

QDQ format (QuantizeLinear/DequantizeLinear pairs, standard ONNX operators), int8 weights per output channel,
uint8 activations with ranges calibrated (min/max) on images the caller provides (tools/deployment/
quantize_onnx.py: the config's training images). Which nodes stay float is a rule (:func:`float_nodes`):

* everything outside the network (preprocessing, score top-k, box decoding, NMS): the network's outputs are
  compared, sorted and decoded, where 8 bits would merge scores and shift boxes;
* the last Conv of each head branch (class logits, box deltas), whose outputs feed the softmax and the decoding.

References: ONNX Runtime docs, "Quantize ONNX models" (static quantization, QDQ, per-channel).
"""
from __future__ import annotations

import os
import tempfile
from typing import Iterable, Iterator

import numpy as np
import onnx
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quant_pre_process, quantize_static)

NETWORK_SCOPES = ('/backbone/', '/neck/', '/bbox_head/')
CALIBRATION_METHODS = {'minmax': CalibrationMethod.MinMax, 'entropy': CalibrationMethod.Entropy,
                       'percentile': CalibrationMethod.Percentile}


def is_head_output_conv(node: onnx.NodeProto) -> bool:
    """The last Conv of an SSD head branch: a plain Conv2d of ``cls_convs``/``reg_convs`` (SSDLite's ``cls_convs.i.1``,
    SSD's ``cls_convs.i``), not one inside a ConvModule (SSDLite's depthwise ``cls_convs.i.0.conv``)."""
    module = node.name.split('/')[-2] if node.name.count('/') >= 2 else ''
    return node.op_type == 'Conv' and node.name.startswith('/bbox_head/') and \
        module.startswith(('cls_convs.', 'reg_convs.'))


def float_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes the module docstring's rule keeps in float."""
    return [node.name for node in model.graph.node
            if not node.name.startswith(NETWORK_SCOPES) or is_head_output_conv(node)]


class ImageReader(CalibrationDataReader):
    """Feeds ``{'input': [1, 3, H, W] float32}`` for each calibration image."""

    def __init__(self, images: Iterable[np.ndarray]):
        self._images: Iterator[np.ndarray] = iter(images)

    def get_next(self):
        image = next(self._images, None)
        return None if image is None else {'input': image[None].astype(np.float32)}


def quantize_detector(float_path: str, int8_path: str, images: Iterable[np.ndarray], method: str = 'minmax') -> int:
    """Write the INT8 QDQ model of ``float_path`` to ``int8_path``, calibrated on ``images`` ([3, H, W] BGR 0-255
    arrays at the model's input size), with the float model's metadata. Returns the number of float-kept nodes."""
    if method not in CALIBRATION_METHODS:
        raise ValueError(f'calibration method must be one of {sorted(CALIBRATION_METHODS)}, got {method!r}')
    with tempfile.TemporaryDirectory() as tmp:
        prepared = os.path.join(tmp, 'prepared.onnx')
        # ONNX Runtime's recommended preparation: shape inference and the basic fusions (BatchNorm folding).
        quant_pre_process(float_path, prepared, skip_symbolic_shape=True)
        kept = float_nodes(onnx.load(prepared))
        quantize_static(prepared, int8_path, ImageReader(images), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=kept,
                        calibrate_method=CALIBRATION_METHODS[method])
    model = onnx.load(int8_path)
    del model.metadata_props[:]
    model.metadata_props.extend(onnx.load(float_path, load_external_data=False).metadata_props)
    model.metadata_props.add(key='mixdet.quantization', value=f'int8 QDQ, per-channel weights, {method} calibration')
    onnx.save(model, int8_path)
    return len(kept)
