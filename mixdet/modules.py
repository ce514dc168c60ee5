"""The registry import point: importing this module registers every mixdet module in MMDetection's registries.

What it registers: the models (MixNet, MixConvBackbone, SSDLiteDetector, MixdetSSDHead), the datasets, metric
and data-check hook (CheckedCocoDataset, CheckedCocoMetric, DataCheckHook), the runner and checkpoint hook
(MixdetRunner, AtomicCheckpointHook) and, through :mod:`mixdet.engine`, mixdet's data-only reader behind every
checkpoint scheme of mmengine. The installed stack is checked first (:mod:`mixdet.utils.dependencies`: one
sentence naming what to install).

Configs name this module in ``custom_imports`` (configs/_base_/mixdet_runtime.py); tools and code call
:func:`register_all_modules`, as mmdet's tools call ``mmdet.utils.register_all_modules``.
"""
from mixdet.utils.dependencies import check_dependencies

check_dependencies()  # before anything of OpenMMLab is imported

from mmdet.utils import register_all_modules as register_mmdet_modules  # noqa: E402

from . import datasets, engine, models  # noqa: E402,F401  (importing them registers their modules)


def register_all_modules(init_default_scope: bool = True) -> None:
    """mmdet's modules and mixdet's (registered by importing this module) in mmdet's registries; with
    ``init_default_scope``, 'mmdet' becomes the default scope (mmdet's ``register_all_modules``: mixdet registers
    into mmdet's registries, mixdet/registry.py)."""
    register_mmdet_modules(init_default_scope)
