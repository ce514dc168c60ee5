"""Export an SSD detector end to end (preprocessing to NMS) as one ONNX model of standard operators.

Uses torch's TorchScript-based exporter (``torch.onnx.export(dynamo=False)``): it exists with the same
behaviour in every torch the project supports (2.1 to 2.13) and exports the NMS through an autograd
Function's ``symbolic``; docs/deployment.md compares it with the dynamo exporter.
"""
from __future__ import annotations

import os
import warnings
from typing import Optional

import onnx
import torch
from torch import nn

from mixdet.ops.mixconv_onnx import onnx_mixconv_form

from .end2end import End2EndDetector
from .export_forms import deploy_copy
from .onnx_fold import fold_batchnorms
from .onnx_graph import custom_domain_nodes
from .support import ExportError, check_exportable, check_opset

DEFAULT_OPSET = 17
INPUT_NAMES, OUTPUT_NAMES = ['input'], ['dets', 'labels']


def max_opset() -> int:
    """The newest opset torch's TorchScript exporter writes."""
    from torch.onnx import _constants
    return getattr(_constants, 'ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET', _constants.ONNX_MAX_OPSET)


def _trace_to_onnx(module: nn.Module, example: torch.Tensor, path: str, opset: int, dynamic_batch: bool) -> None:
    """``torch.onnx.export`` (TorchScript) of ``module``; an operator without an ONNX form is an ExportError."""
    axes = {name: {0: 'batch'} for name in INPUT_NAMES + OUTPUT_NAMES} if dynamic_batch else None
    with warnings.catch_warnings():
        # The exporter's notes on traced shapes and its own deprecation are not the user's concern here.
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        try:
            torch.onnx.export(module, (example,), path, dynamo=False, input_names=INPUT_NAMES,
                              output_names=OUTPUT_NAMES, opset_version=opset, dynamic_axes=axes)
        except torch.onnx.errors.UnsupportedOperatorError as error:
            first_sentence = str(error).split('. ')[0].rstrip('.')  # torch adds where to ask for support
            raise ExportError(f'cannot export the model: {first_sentence}') from error


def export_onnx(detector: nn.Module, path: str, input_size: tuple[int, int], opset: int = DEFAULT_OPSET,
                dynamic_batch: bool = False, mixconv_form: str = 'auto',
                metadata: Optional[dict[str, str]] = None, fast_forms: bool = True) -> onnx.ModelProto:
    """Write ``detector`` (eval mode) as ONNX: input [N, 3, H, W] BGR 0-255 -> dets [N, K, 5], labels [N, K].

    ``input_size`` is (H, W); N is 1, or dynamic with ``dynamic_batch``. ``mixconv_form``: 'auto' | 'padded' |
    'split' (:mod:`mixdet.ops.mixconv_onnx`). ``fast_forms``: export a copy with the layer forms of
    :mod:`mixdet.deploy.export_forms` and fold every BatchNorm into its Convs (:mod:`mixdet.deploy.onnx_fold`);
    False exports the modules as they are. ``metadata`` goes to the model's
    metadata_props. Raises :class:`ExportError` (one sentence) for a model or setting it cannot export;
    returns the written model.
    """
    check_opset(opset, max_opset())
    check_exportable(detector, input_size)
    detector.eval()
    module = End2EndDetector(deploy_copy(detector) if fast_forms else detector).eval()
    example = torch.rand(1, 3, *input_size, generator=torch.Generator().manual_seed(0)) * 255
    with onnx_mixconv_form(mixconv_form), torch.no_grad():
        _trace_to_onnx(module, example, path, opset, dynamic_batch)
    model = onnx.load(path)
    if fast_forms:
        fold_batchnorms(model)
    custom = custom_domain_nodes(model)
    if custom:
        os.remove(path)
        raise ExportError(f'cannot export the model: its graph holds non-standard operators {custom}')
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return model
