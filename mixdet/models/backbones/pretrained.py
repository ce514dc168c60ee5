"""Strict loading of pretrained backbone weights.

mmengine's ``Pretrained`` initialiser loads with ``strict=False`` and only warns, so weights of
another architecture leave a backbone silently random. :func:`load_pretrained_strictly` refuses
them with an error naming the checkpoint and the differing keys.

A checkpoint is a local path or an ``http(s)://`` URL (e.g. timm's published weights), as ``.pth``
or ``.safetensors``. A URL is downloaded once into torch's hub cache, ``torch.hub.get_dir()/checkpoints/``
(``$TORCH_HOME/hub/checkpoints``, as mmengine and torchvision do), and read from there next time.
"""
from __future__ import annotations

import http.client
import os
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlparse

import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import print_log

from mixdet.engine.safe_checkpoint import load_checkpoint_file, load_safetensors_file
from mixdet.utils.state_dicts import CheckpointError, checkpoint_state, load_state_strictly

from .identify import mixnet_variant


def is_url(checkpoint: str) -> bool:
    return str(checkpoint).startswith(('http://', 'https://'))


def read_weights_file(path: str) -> dict:
    """A ``.safetensors`` file's tensors, or a torch checkpoint read as data."""
    if str(path).endswith('.safetensors'):
        return load_safetensors_file(path)
    return load_checkpoint_file(path)


def _one_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


def _download_if_missing(url: str, path: str) -> None:
    if os.path.isfile(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    print_log(f'downloading {url} to {path}', logger='current')
    try:  # writes a temporary file and renames it when complete
        torch.hub.download_url_to_file(url, path, progress=False)
    except (OSError, http.client.HTTPException) as error:  # urllib's URLError/HTTPError are OSErrors
        raise CheckpointError(f'cannot download checkpoint {url}: {_one_line(error)}') from error


def cached_download(url: str) -> str:
    """The local copy of ``url`` in ``torch.hub.get_dir()/checkpoints/<basename>``, downloaded if absent.

    In a distributed run rank 0 downloads while the others wait at a barrier; a rank that then finds no file
    (another node without a shared disk) downloads its own copy. If rank 0's download fails it raises and the
    other ranks wait at the barrier until the job is stopped, as with mmengine's own URL loading.
    """
    name = os.path.basename(urlparse(url).path)
    if not name:
        raise CheckpointError(f'checkpoint URL {url} names no file')
    path = os.path.join(torch.hub.get_dir(), 'checkpoints', name)
    rank, world_size = get_dist_info()
    if rank == 0:
        _download_if_missing(url, path)
    if world_size > 1:
        barrier()
        _download_if_missing(url, path)
    return path


def read_pretrained(checkpoint: str) -> dict:
    """The checkpoint at a local path or URL, read as data. A downloaded file that cannot be read is
    removed from the cache (so the next run downloads it again) and the error names the URL."""
    if not is_url(checkpoint):
        return read_weights_file(checkpoint)
    path = cached_download(checkpoint)
    try:
        return read_weights_file(path)
    except CheckpointError as error:
        Path(path).unlink(missing_ok=True)
        raise CheckpointError(f'checkpoint {checkpoint} is not usable (removed from the cache): {error}') from error


def load_pretrained_strictly(module: torch.nn.Module, checkpoint: str, prefix: str | None = None,
                             optional_prefixes: tuple[str, ...] = (),
                             convert: Optional[Callable[[dict], dict]] = None) -> None:
    """Load ``checkpoint`` (its keys under ``prefix``, if given) into ``module``: every key must exist with the
    same shape, else CheckpointError (a ValueError) naming the file.

    Keys starting with one of ``optional_prefixes`` that the module lacks (parts it did not build, e.g. an
    unused head, timm's classifier) are dropped with a log line. ``checkpoint`` is a path or URL
    (:func:`read_pretrained`), read as data.
    ``convert`` maps the checkpoint's state_dict to the module's layout before the check (e.g.
    MixConvBackbone's centre-embedded depthwise kernels).
    """
    state = checkpoint_state(read_pretrained(checkpoint), checkpoint)
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
