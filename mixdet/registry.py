"""The one registry import point: mixdet registers into MMDetection's registries.

Runners are the exception: mmdet's and mixdet's tools build them with ``RUNNERS.build(cfg)`` from mmengine's
root registry without a scope, so ``runner_type = 'MixdetRunner'`` must be found there.

A config that inherits a mixdet config by name (``_base_ = 'mixdet::...'``, mixdet/config_prefix.py) gets its
inherited entries tagged with the scope ``mixdet`` by mmengine, which then builds them from the registries of
that scope (and falls back to mmengine's root registries, which know nothing of mmdet, when there are none).
:data:`SCOPED` gives each mmdet registry an empty child of scope ``mixdet``, as mmyolo's registries are children
of mmdet's; a lookup there goes on to mmdet's registry, where mixdet's modules are, and to mmengine's.
"""
import mmdet.registry as mmdet_registry
from mmdet.registry import DATASETS, HOOKS, METRICS, MODELS
from mmengine.registry import RUNNERS, Registry

from mixdet.config_prefix import SCOPE

SCOPED = {name: Registry(registry.name, parent=registry, scope=SCOPE, locations=['mixdet.modules'])
          for name, registry in vars(mmdet_registry).items()
          if isinstance(registry, Registry) and registry.scope == 'mmdet'}

__all__ = ['DATASETS', 'HOOKS', 'METRICS', 'MODELS', 'RUNNERS', 'SCOPED']
