"""Strict loading of pretrained backbone weights.

mmengine's ``Pretrained`` initialiser loads with ``strict=False`` and only warns, so weights of
another architecture leave a backbone silently random. :func:`load_pretrained_strictly` refuses
them with an error naming the checkpoint and the first differing keys.
"""
from __future__ import annotations

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader


def _backbone_state(checkpoint: str, prefix: str | None) -> dict[str, torch.Tensor]:
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else loaded
    if not isinstance(state, dict):
        raise ValueError(f'{checkpoint} holds no state_dict')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    if prefix:
        prefix = prefix.rstrip('.') + '.'
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise ValueError(f'{checkpoint} has no keys under prefix {prefix!r}')
    return state


def load_pretrained_strictly(module: torch.nn.Module, checkpoint: str, prefix: str | None = None,
                             optional_prefixes: tuple[str, ...] = ()) -> None:
    """Load ``checkpoint`` into ``module``: every key must exist with the same shape.

    Keys starting with one of ``optional_prefixes`` (parts the module did not build, e.g. an
    unused head) are dropped with a log line. Raises ValueError naming the file otherwise.
    """
    state = _backbone_state(checkpoint, prefix)
    expected = module.state_dict()
    unused = sorted(k for k in state if k not in expected and k.startswith(optional_prefixes))
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected) - set(unused))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        details = [f'{name} {keys[:3]}{" ..." if len(keys) > 3 else ""}' for name, keys in
                   (('missing', missing), ('unexpected', unexpected), ('shape mismatch', wrong)) if keys]
        raise ValueError(f'checkpoint {checkpoint} does not fit {type(module).__name__} '
                         f'({"; ".join(details)}): it is from another architecture or variant')
    if unused:
        print_log(f'{checkpoint}: ignored {len(unused)} keys of parts not built ({unused[0]}, ...)', logger='current')
    module.load_state_dict({k: v for k, v in state.items() if k not in unused}, strict=True)
