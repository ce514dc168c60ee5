"""Checkpoints as untrusted input: the one door through which mixdet reads every weight file and URL.

``read_source(path_or_url)`` reads a local file or an ``http(s)://`` URL (cached, :mod:`.download`) as data
(:mod:`.data_reader`): no code from a file ever runs. Errors are :class:`CheckpointError`, one line naming the
file or URL. :mod:`mixdet.engine.checkpoint_schemes` puts this reader behind mmengine's own loading paths.
"""
from __future__ import annotations

import os
from typing import Any

from .data_reader import read_checkpoint, read_safetensors, read_weights
from .download import fetch, is_url
from .errors import CheckpointError


def read_source(source: str | os.PathLike, map_location: Any = 'cpu') -> dict:
    """The checkpoint at a local path or an ``http(s)://`` URL (``.pth`` or ``.safetensors``), read as data."""
    if is_url(source):
        return fetch(source, lambda path, url: read_weights(path, map_location, name=url))
    return read_weights(source, map_location)


__all__ = ['CheckpointError', 'is_url', 'read_checkpoint', 'read_safetensors', 'read_source', 'read_weights']
