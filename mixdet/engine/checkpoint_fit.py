"""Load the checkpoint that tools/test.py evaluates, strictly.

mmengine loads ``load_from`` with ``strict=False`` and only logs missing or mismatching keys, so a
checkpoint of another architecture would be evaluated as a half-random model. tools/test.py loads the
checkpoint with :func:`load_checkpoint_strictly` instead (on every rank; the file is read once).
"""
from __future__ import annotations

import torch
from mmengine.model import is_model_wrapper

from mixdet.utils.state_dicts import checkpoint_state, load_state_strictly


def load_checkpoint_strictly(model: torch.nn.Module, path: str) -> None:
    """Load ``path`` (``torch.load(weights_only=True)``) into ``model``; ValueError naming it when it does not fit."""
    state = checkpoint_state(torch.load(path, map_location='cpu', weights_only=True), path)
    load_state_strictly(model.module if is_model_wrapper(model) else model, state, path, 'the model of this config')
