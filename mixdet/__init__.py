"""mixdet: MixNet backbones, MixConv ops and SSDLite detectors for MMDetection 3.x.

Importing ``mixdet`` (configs do it with ``custom_imports=dict(imports=['mixdet'])``) checks the
pinned dependencies, registers mixdet's modules in MMDetection's registries and the ``mixdet::`` config
prefix in mmengine (:mod:`mixdet.config_prefix`).

``MIXDET_OPS_ONLY=1`` skips both, so that ``mixdet.ops`` can be used where the OpenMMLab stack is
not installed (e.g. a GPU machine that only benchmarks the op); nothing is registered then.
"""
import os

from .version import __version__

OPS_ONLY = os.environ.get('MIXDET_OPS_ONLY', '0') == '1'

if not OPS_ONLY:
    from .utils.dependencies import check_dependencies
    check_dependencies()
    from . import datasets, engine, models  # noqa: F401  (registers mixdet's modules in mmdet's registries)
    from .config_prefix import install as install_config_prefix
    install_config_prefix()  # `mixdet::` config names in mmengine

__all__ = ['__version__']
