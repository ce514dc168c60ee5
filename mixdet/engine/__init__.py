"""Training-time machinery: the runner with safe checkpoints, its hooks, config helpers for the tools."""
from .checkpoint_hook import AtomicCheckpointHook
from .runner import MixdetRunner

__all__ = ['AtomicCheckpointHook', 'MixdetRunner']
