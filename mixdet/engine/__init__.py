"""Training-time machinery: the runner with safe checkpoints, its hooks, config helpers for the tools.

Importing it puts mixdet's data-only checkpoint reader behind every loading scheme of mmengine
(:mod:`.checkpoint_schemes`).
"""
from . import checkpoint_schemes  # noqa: F401  (mmengine's CheckpointLoader reads through mixdet)
from .checkpoint_hook import AtomicCheckpointHook
from .runner import MixdetRunner

__all__ = ['AtomicCheckpointHook', 'MixdetRunner']
