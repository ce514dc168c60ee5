"""What the ONNX exporter can export, checked before tracing: one sentence for the first piece it cannot."""
from __future__ import annotations

from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.models.dense_heads import SSDHead
from mmdet.models.detectors import SingleStageDetector
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from torch import nn

MIN_OPSET = 11  # NonMaxSuppression with its current inputs
NMS_KEYS = {'type', 'iou_threshold', 'class_agnostic'}


class ExportError(ValueError):
    """A model or setting the ONNX exporter cannot export; the message is one sentence naming the piece."""


def check_exportable(detector: nn.Module, input_size: tuple[int, int]) -> None:
    """Raise :class:`ExportError` unless ``detector`` at ``input_size`` (H, W) exports as standard ONNX.

    Exportable: a single-stage detector with mmdet's ``DetDataPreprocessor`` (no batch augments, sizes
    divisible by ``pad_size_divisor``), an SSD head (``SSDHead`` or a subclass, softmax scores) with
    ``DeltaXYWHBBoxCoder`` (no center clamp) and a ``test_cfg`` of ``nms_pre > 0``, ``max_per_img > 0``,
    ``min_bbox_size <= 0`` and plain ``nms``.
    """
    if not isinstance(detector, SingleStageDetector):
        raise ExportError(f'cannot export {type(detector).__name__}: the ONNX exporter supports single-stage '
                          'detectors with an SSD head')
    preprocessor, head = detector.data_preprocessor, detector.bbox_head
    if not isinstance(head, SSDHead) or head.use_sigmoid_cls:
        raise ExportError(f'cannot export bbox_head {type(head).__name__}: the ONNX exporter supports SSD heads '
                          '(mmdet SSDHead and its subclasses, softmax classifier)')
    if type(head.bbox_coder) is not DeltaXYWHBBoxCoder or head.bbox_coder.add_ctr_clamp:
        raise ExportError(f'cannot export bbox_coder {type(head.bbox_coder).__name__}: the ONNX exporter decodes '
                          'with DeltaXYWHBBoxCoder without add_ctr_clamp')
    if type(preprocessor) is not DetDataPreprocessor or preprocessor.batch_augments:
        raise ExportError(f'cannot export data_preprocessor {type(preprocessor).__name__}: the ONNX exporter '
                          'supports DetDataPreprocessor without batch_augments')
    if any(size % preprocessor.pad_size_divisor for size in input_size):
        raise ExportError(f'cannot export at input size {tuple(input_size)}: it must be divisible by the data '
                          f'preprocessor\'s pad_size_divisor={preprocessor.pad_size_divisor}')
    cfg = head.test_cfg
    nms_cfg = cfg.get('nms') or {}
    if nms_cfg.get('type') != 'nms' or not set(nms_cfg) <= NMS_KEYS:
        raise ExportError(f'cannot export test_cfg.nms={dict(nms_cfg)}: the ONNX exporter supports '
                          f'dict(type=\'nms\', iou_threshold=..., class_agnostic=...) (ONNX NonMaxSuppression)')
    for key, ok, rule in (('nms_pre', cfg.get('nms_pre', -1) > 0, 'a positive int'),
                          ('max_per_img', cfg.get('max_per_img', -1) > 0, 'a positive int'),
                          ('min_bbox_size', cfg.get('min_bbox_size', -1) <= 0, '0 or less (boxes are kept in '
                           'input pixels, so a size limit in original-image pixels cannot be applied)')):
        if not ok:
            raise ExportError(f'cannot export test_cfg.{key}={cfg.get(key)!r}: the ONNX exporter needs {rule}')


def check_opset(opset: int, max_opset: int) -> None:
    """Raise :class:`ExportError` unless ``MIN_OPSET <= opset <= max_opset``."""
    if not MIN_OPSET <= opset <= max_opset:
        raise ExportError(f'cannot export with --opset {opset}: choose {MIN_OPSET} to {max_opset} (ONNX '
                          'NonMaxSuppression needs opset 11, torch\'s TorchScript exporter stops at '
                          f'{max_opset})')
