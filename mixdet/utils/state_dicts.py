"""Strict state_dict loading with short errors that name the checkpoint (Pretrained and tools/test.py)."""
from __future__ import annotations

import torch

from mixdet.checkpoint.errors import CheckpointError


def checkpoint_state(loaded, source: str) -> dict[str, torch.Tensor]:
    """The state_dict of a loaded checkpoint (its ``state_dict`` entry, or itself), without DDP's ``module.``."""
    state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f'checkpoint {source} holds no state_dict')
    odd = [key for key, value in state.items() if not (isinstance(key, str) and isinstance(value, torch.Tensor))]
    if odd:
        raise CheckpointError(f'checkpoint {source}: state_dict entry {odd[0]!r} is not a tensor under a string key '
                              f'({len(odd)} such entries)')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def load_state_strictly(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str, owner: str) -> None:
    """``module.load_state_dict(state, strict=True)``, after checking the keys and shapes: a missing, unexpected
    or differently shaped key is a CheckpointError naming ``source``, ``owner`` and the first three keys of each kind
    (torch's own error lists every key)."""
    expected = module.state_dict()
    problems = dict(missing=sorted(set(expected) - set(state)), unexpected=sorted(set(state) - set(expected)),
                    shape=sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape))
    details = '; '.join(f'{kind}: {keys[:3]}{" ..." if len(keys) > 3 else ""} ({len(keys)} keys)'
                        for kind, keys in problems.items() if keys)
    if details:
        raise CheckpointError(f'checkpoint {source} does not fit {owner} ({details}); '
                              f'is it from another architecture, variant or number of classes?')
    broken = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if broken:
        raise CheckpointError(f'checkpoint {source}: {broken[0]} holds NaN or infinite values ({len(broken)} tensors '
                              f'do); did the training diverge?')
    module.load_state_dict(state, strict=True)
