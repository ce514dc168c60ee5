"""mixdet: MixNet backbones, MixConv ops and SSDLite detectors for MMDetection 3.x.

``import mixdet`` is light, as ``import mmdet`` is: it imports no OpenMMLab package and registers nothing, so
:mod:`mixdet.ops`, :mod:`mixdet.archs` and :mod:`mixdet.checkpoint` work where OpenMMLab is not installed (e.g.
the GPU machine of tools/misc/gpu_check.py). It only makes the ``mixdet::`` config prefix known to mmengine
(:mod:`mixdet.config_prefix`, which imports nothing).

mixdet's modules are registered in MMDetection's registries through :mod:`mixdet.modules`: configs import it
(``custom_imports = dict(imports=['mixdet.modules'])``, configs/_base_/mixdet_runtime.py), code and tools call
``mixdet.modules.register_all_modules()`` (also in :mod:`mixdet.apis`), as mmdet's and mmyolo's
``register_all_modules()``. docs/architecture.md maps the packages.
"""
from .config_prefix import install as _install_config_prefix
from .version import __version__

_install_config_prefix()  # `mixdet::` config names in mmengine (nothing is imported until mmengine's config is)

__all__ = ['__version__']
