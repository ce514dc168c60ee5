"""A checkpoint's state_dict, and strict loading of it into a module with errors that name the checkpoint.

Loading is strict: every key must exist with the same shape and every float tensor be finite, else one
:class:`CheckpointError` line naming the checkpoint, the module and the first differing keys. When a module
class can say which variant a state_dict holds (a classmethod ``variant_of(state, prefix) -> str | None``, as
:class:`mixdet.models.backbones.MixNet` has), the error says it in words instead (:func:`variants`).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch

from .errors import CheckpointError

MODULE_PREFIX = 'module.'  # what DDP puts in front of every key
# (message, state, expected state) -> the error message to raise instead, or None to keep ``message``.
Explain = Callable[[str, dict, dict], Optional[str]]


def strip_module_prefix(state: dict) -> dict:
    """``state`` without DDP's ``module.`` in front of its keys."""
    return {k[len(MODULE_PREFIX):] if k.startswith(MODULE_PREFIX) else k: v for k, v in state.items()}


def checkpoint_state(loaded, source: str, nested: tuple[str, ...] = ('state_dict', )) -> dict[str, torch.Tensor]:
    """The state_dict of a loaded checkpoint: its first entry named in ``nested`` (timm's files also use ``model``
    and ``state_dict_ema``), else the dict itself; tensors under string keys, without DDP's ``module.``."""
    key = next((key for key in nested if isinstance(loaded, dict) and key in loaded), None)
    state = loaded.get(key, loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f'checkpoint {source} holds no state_dict')
    odd = [key for key, value in state.items() if not (isinstance(key, str) and isinstance(value, torch.Tensor))]
    if odd:
        raise CheckpointError(f'checkpoint {source}: state_dict entry {odd[0]!r} is not a tensor under a string key '
                              f'({len(odd)} such entries)')
    return strip_module_prefix(state)


def variants(module: torch.nn.Module, state: dict) -> dict[str, str]:
    """{prefix: variant} for each submodule of ``module`` whose class says which variant the keys of ``state`` under
    the submodule's prefix hold (its classmethod ``variant_of(state, prefix)``); submodules that cannot tell are
    left out."""
    found = {}
    for name, child in module.named_modules():
        variant_of = getattr(type(child), 'variant_of', None)
        prefix = f'{name}.' if name else ''
        variant = variant_of(state, prefix) if callable(variant_of) else None
        if variant is not None:
            found[prefix] = variant
    return found


def load_state_strictly(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str, owner: str,
                        explain: Explain | None = None) -> None:
    """``module.load_state_dict(state, strict=True)``, after checking the keys and shapes: a missing, unexpected
    or differently shaped key is a CheckpointError naming ``source``, ``owner`` and the first three keys of each kind
    (torch's own error lists every key), or the message ``explain`` gives for it."""
    expected = module.state_dict()
    problems = dict(missing=sorted(set(expected) - set(state)), unexpected=sorted(set(state) - set(expected)),
                    shape=sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape))
    details = '; '.join(f'{kind}: {keys[:3]}{" ..." if len(keys) > 3 else ""} ({len(keys)} keys)'
                        for kind, keys in problems.items() if keys)
    if details:
        message = (f'checkpoint {source} does not fit {owner} ({details}); '
                   f'is it from another architecture, variant or number of classes?')
        raise CheckpointError((explain and explain(message, state, expected)) or message)
    broken = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if broken:
        raise CheckpointError(f'checkpoint {source}: {broken[0]} holds NaN or infinite values ({len(broken)} tensors '
                              f'do); did the training diverge?')
    module.load_state_dict(state, strict=True)
