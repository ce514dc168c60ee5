"""Strict loading of pretrained backbone weights.

mmengine's ``Pretrained`` initialiser loads with ``strict=False`` and only warns, so weights of
another architecture leave a backbone silently random. :func:`load_pretrained_strictly` refuses
them with an error naming the checkpoint and the differing keys.

A checkpoint is a local path or an ``http(s)://`` URL (e.g. timm's published weights), as ``.pth``
or ``.safetensors``, read as data through :func:`mixdet.checkpoint.read_source` (URLs cached in torch's
hub folder, :mod:`mixdet.checkpoint.download`).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from mmengine.logging import print_log

from mixdet.checkpoint import CheckpointError, read_source
from mixdet.utils.state_dicts import checkpoint_state, load_state_strictly

from .identify import mixnet_variant


def load_pretrained_strictly(module: torch.nn.Module, checkpoint: str, prefix: str | None = None,
                             optional_prefixes: tuple[str, ...] = (),
                             convert: Optional[Callable[[dict], dict]] = None) -> None:
    """Load ``checkpoint`` (its keys under ``prefix``, if given) into ``module``: every key must exist with the
    same shape, else CheckpointError (a ValueError) naming the file.

    Keys starting with one of ``optional_prefixes`` that the module lacks (parts it did not build, e.g. an
    unused head, timm's classifier) are dropped with a log line. ``checkpoint`` is a path or URL
    (:func:`mixdet.checkpoint.read_source`), read as data.
    ``convert`` maps the checkpoint's state_dict to the module's layout before the check (e.g.
    MixConvBackbone's centre-embedded depthwise kernels).
    """
    state = checkpoint_state(read_source(checkpoint), checkpoint)
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
    state = {k: v for k, v in state.items() if k not in unused}
    try:
        load_state_strictly(module, state, checkpoint, type(module).__name__)
    except CheckpointError as error:
        held, built = mixnet_variant(state, prefix=''), mixnet_variant(module.state_dict(), prefix='')
        if held and built and held != built:
            raise CheckpointError(f'{error} It holds {held} weights, this backbone is {built}.') from error
        raise
