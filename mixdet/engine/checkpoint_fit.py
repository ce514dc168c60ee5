"""Refuse to evaluate a checkpoint that does not fit the model.

mmengine loads ``load_from`` with ``strict=False`` and only logs missing or mismatching keys, so a
checkpoint of another architecture would be evaluated as a half-random model. tools/test.py calls
:func:`check_checkpoint_fits` first.
"""
from __future__ import annotations

import torch


def checkpoint_mismatches(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> dict[str, list[str]]:
    """Keys of ``model`` missing from ``state``, keys of ``state`` the model lacks, and shape mismatches."""
    expected = model.state_dict()
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    return dict(
        missing=sorted(set(expected) - set(state)),
        unexpected=sorted(set(state) - set(expected)),
        shape=sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape)),
    )


def check_checkpoint_fits(model: torch.nn.Module, path: str) -> None:
    """Raise ValueError naming ``path`` and the first differing keys when its state_dict does not fit ``model``."""
    loaded = torch.load(path, map_location='cpu', weights_only=True)
    state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'checkpoint {path} holds no state_dict')
    problems = {k: v for k, v in checkpoint_mismatches(model, state).items() if v}
    if problems:
        details = '; '.join(f'{kind}: {keys[:3]}{" ..." if len(keys) > 3 else ""} ({len(keys)} keys)'
                            for kind, keys in problems.items())
        raise ValueError(f'checkpoint {path} does not fit the model of this config ({details}); '
                         f'is it from another architecture or number of classes?')
