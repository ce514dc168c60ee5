"""Load a checkpoint into a model strictly, reading it as data (tools, MixdetRunner).

mmengine loads ``load_from`` with ``strict=False`` and only logs missing or mismatching keys, so a
checkpoint of another architecture would train or be evaluated as a half-random model. Here every key
must fit, on every rank (mmengine's ``load_checkpoint(strict=True)`` raises on rank 0 only).
"""
from __future__ import annotations

from typing import Any

import torch
from mmengine.model import is_model_wrapper

from mixdet.checkpoint import CheckpointError, read_source
from mixdet.models.backbones.identify import mixnet_variant
from mixdet.utils.state_dicts import checkpoint_state, load_state_strictly


def load_weights_strictly(model: torch.nn.Module, checkpoint: Any, path: str) -> None:
    """Load the state_dict of an already read ``checkpoint`` into ``model``; CheckpointError naming ``path``."""
    model = model.module if is_model_wrapper(model) else model
    state = checkpoint_state(checkpoint, path)
    try:
        load_state_strictly(model, state, path, 'the model of this config')
    except CheckpointError as error:
        held, built = mixnet_variant(state), mixnet_variant(model.state_dict())
        if held and built and held != built:
            raise CheckpointError(f'checkpoint {path} holds a {held} detector, the config builds {built}') from error
        raise


def load_checkpoint_strictly(model: torch.nn.Module, path: str, map_location: Any = 'cpu') -> dict:
    """Read ``path`` as data, load it into ``model`` strictly and return the checkpoint dict."""
    checkpoint = read_source(path, map_location)
    load_weights_strictly(model, checkpoint, path)
    return checkpoint
