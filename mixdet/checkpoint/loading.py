"""Reading a checkpoint source, and strict loading into a backbone (``Pretrained``) or a whole model (the tools).

mmengine's ``Pretrained`` initialiser and ``load_from`` load with ``strict=False`` and only log what did not fit,
so weights of another architecture leave a model silently half-random. Here every key must fit
(:func:`load_state_strictly`), and the checkpoint is read as data (:func:`mixdet.checkpoint.read_source`: a local
path or an ``http(s)://`` URL, ``.pth`` or ``.safetensors``). A model that wraps another (DDP) is unwrapped by the
caller.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import torch

from .data_reader import read_weights
from .download import fetch, is_url
from .errors import CheckpointError
from .state_dict import checkpoint_state, load_state_strictly, variants


def read_source(source: str, map_location: Any = 'cpu') -> dict:
    """The checkpoint at a local path or an ``http(s)://`` URL (``.pth`` or ``.safetensors``), read as data."""
    if is_url(source):
        return fetch(source, lambda path, url: read_weights(path, map_location, name=url))
    return read_weights(source, map_location)


def _variant_words(module: torch.nn.Module, state: dict, expected: dict) -> tuple[str, str] | None:
    """(variant held, variant built) of the first part of ``module`` that tells them apart, or None."""
    held, built = variants(module, state), variants(module, expected)
    return next(((held[p], built[p]) for p in built if p in held and held[p] != built[p]), None)


def load_pretrained(module: torch.nn.Module, checkpoint: str, prefix: str | None = None,
                    optional_prefixes: tuple[str, ...] = (),
                    convert: Optional[Callable[[dict], dict]] = None) -> list[str]:
    """Load ``checkpoint`` (its keys under ``prefix``, if given) into ``module`` strictly; return the keys dropped.

    Keys starting with one of ``optional_prefixes`` that the module lacks (parts it did not build, e.g. an unused
    head, timm's classifier) are dropped and returned. ``convert`` maps the checkpoint's state_dict to the module's
    layout before the check (e.g. MixConvBackbone's centre-embedded depthwise kernels). CheckpointError (a
    ValueError) naming the file otherwise, saying which variant it holds where the module can tell.
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
    state = {k: v for k, v in state.items() if k not in unused}

    def explain(message: str, state: dict, expected: dict) -> str | None:
        words = _variant_words(module, state, expected)
        return words and f'{message} It holds {words[0]} weights, this backbone is {words[1]}.'

    load_state_strictly(module, state, checkpoint, type(module).__name__, explain)
    return unused


def load_model_strictly(model: torch.nn.Module, checkpoint: Any, path: str) -> None:
    """Load the state_dict of an already read ``checkpoint`` into ``model`` (a detector); CheckpointError naming
    ``path``, or saying which variant it holds and which the config builds where the model can tell."""
    def explain(message: str, state: dict, expected: dict) -> str | None:
        words = _variant_words(model, state, expected)
        return words and f'checkpoint {path} holds a {words[0]} detector, the config builds {words[1]}'

    load_state_strictly(model, checkpoint_state(checkpoint, path), path, 'the model of this config', explain)


def load_checkpoint_strictly(model: torch.nn.Module, path: str, map_location: Any = 'cpu') -> dict:
    """Read ``path`` as data, load it into ``model`` strictly and return the checkpoint dict."""
    checkpoint = read_source(path, map_location)
    load_model_strictly(model, checkpoint, path)
    return checkpoint
