"""mixdet: MixNet backbones, MixConv ops and SSDLite detectors for MMDetection 3.x.

Importing ``mixdet`` (configs do it with ``custom_imports=dict(imports=['mixdet'])``)
checks the pinned dependencies and registers mixdet's modules in MMDetection's registries.
"""
from .utils.dependencies import check_dependencies
from .version import __version__

check_dependencies()

from . import datasets, models  # noqa: E402  (registers mixdet's modules in mmdet's registries)

__all__ = ['__version__', 'datasets', 'models']
