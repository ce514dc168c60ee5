"""End-to-end ONNX deployment of SSD detectors (docs/deployment.md).

``export_onnx`` writes one ONNX model of standard operators (preprocessing, network, box decoding, NMS as
ONNX ``NonMaxSuppression``) with mmdeploy's end2end input/outputs; ``End2EndDetector`` is the exported module,
traced from a copy in the fast layer forms of ``export_forms``. ``metadata`` describes the file, ``quantize``
makes its INT8 version, ``ort_timing`` times ONNX Runtime sessions.
"""
from .end2end import End2EndDetector
from .export import export_onnx
from .onnx_graph import custom_domain_nodes
from .support import ExportError, check_exportable

__all__ = ['End2EndDetector', 'ExportError', 'check_exportable', 'custom_domain_nodes', 'export_onnx']
