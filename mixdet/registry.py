"""The one registry import point: mixdet registers into MMDetection's registries.

Runners are the exception: mmdet's and mixdet's tools build them with ``RUNNERS.build(cfg)`` from mmengine's
root registry without a scope, so ``runner_type = 'MixdetRunner'`` must be found there.
"""
from mmdet.registry import DATASETS, HOOKS, MODELS
from mmengine.registry import RUNNERS

__all__ = ['DATASETS', 'HOOKS', 'MODELS', 'RUNNERS']
