"""Strict loading of pretrained backbone weights.

mmengine's ``Pretrained`` initialiser loads with ``strict=False`` and only warns, so weights of
another architecture leave a backbone silently random. :func:`load_pretrained_strictly` refuses
them with an error naming the checkpoint and the differing keys.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from mmengine.logging import print_log

from mixdet.engine.safe_checkpoint import load_checkpoint_file
from mixdet.utils.state_dicts import CheckpointError, checkpoint_state, load_state_strictly


def load_pretrained_strictly(module: torch.nn.Module, checkpoint: str, prefix: str | None = None,
                             optional_prefixes: tuple[str, ...] = (),
                             convert: Optional[Callable[[dict], dict]] = None) -> None:
    """Load ``checkpoint`` (its keys under ``prefix``, if given) into ``module``: every key must exist with the
    same shape, else CheckpointError (a ValueError) naming the file.

    Keys starting with one of ``optional_prefixes`` that the module lacks (parts it did not build, e.g. an
    unused head) are dropped with a log line. The file is read as data (:func:`load_checkpoint_file`).
    ``convert`` maps the checkpoint's state_dict to the module's layout before the check (e.g.
    MixConvBackbone's centre-embedded depthwise kernels).
    """
    state = checkpoint_state(load_checkpoint_file(checkpoint), checkpoint)
    if prefix:
        prefix = prefix.rstrip('.') + '.'
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise CheckpointError(f'checkpoint {checkpoint} has no keys under prefix {prefix!r}')
    if convert is not None:
        state = convert(state)
    expected = module.state_dict()
    unused = sorted(k for k in state if k not in expected and k.startswith(optional_prefixes))
    if unused:
        print_log(f'{checkpoint}: ignored {len(unused)} keys of parts not built ({unused[0]}, ...)', logger='current')
    load_state_strictly(module, {k: v for k, v in state.items() if k not in unused}, checkpoint,
                        type(module).__name__)
