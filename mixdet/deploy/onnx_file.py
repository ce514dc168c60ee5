"""An exported detector file as untrusted input: opened with one :class:`OnnxFileError` line naming it.

A file that is missing, not ONNX, cut off or edited so that ONNX Runtime cannot load it, or that is not an
end-to-end detector as :func:`mixdet.deploy.export_onnx` writes it (input ``input`` [N, 3, H, W] of a fixed
size, outputs ``dets`` and ``labels``), is refused before any evaluation or calibration starts.
"""
from __future__ import annotations

import os

import onnx
import onnxruntime as ort
from google.protobuf.message import DecodeError
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from .ort_timing import cpu_session

# ONNX Runtime's own exception types (they derive from Exception only).
ORT_ERRORS = tuple(cls for cls in vars(ort_state).values() if isinstance(cls, type) and issubclass(cls, Exception))


class OnnxFileError(ValueError):
    """An ONNX file that cannot be used; the message is one line naming it."""


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


def read_metadata(path: str) -> dict[str, str]:
    """The metadata properties of the ONNX file at ``path`` (weights not read)."""
    if not os.path.isfile(path):
        raise OnnxFileError(f'ONNX model {path} does not exist or is not a file')
    try:
        model = onnx.load(path, load_external_data=False)
    except (DecodeError, OSError, ValueError) as error:
        raise OnnxFileError(f'cannot read ONNX model {path}: {_first_line(error)}') from error
    return {prop.key: prop.value for prop in model.metadata_props}


def open_detector(path: str, threads: int) -> ort.InferenceSession:
    """A CPU session of the exported detector at ``path``, its interface checked (see the module docstring)."""
    read_metadata(path)
    try:
        session = cpu_session(path, threads)
    except ORT_ERRORS as error:
        raise OnnxFileError(f'ONNX Runtime cannot load {path}: {_first_line(error)}') from error
    inputs, outputs = session.get_inputs(), [o.name for o in session.get_outputs()]
    shape = inputs[0].shape if len(inputs) == 1 else None
    if not (len(inputs) == 1 and inputs[0].name == 'input' and len(shape) == 4 and shape[1] == 3
            and all(isinstance(s, int) for s in shape[2:]) and outputs == ['dets', 'labels']):
        raise OnnxFileError(f'{path} is not an end-to-end detector as export_onnx.py writes it (input "input" '
                            f'[N, 3, H, W] of a fixed size, outputs dets and labels): it has inputs '
                            f'{[(i.name, i.shape) for i in inputs]} and outputs {outputs}')
    return session
