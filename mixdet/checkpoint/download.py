"""Checkpoint URLs: downloaded once into torch's hub cache, within a timeout and a size limit, never half-written.

Where a download goes: ``torch.hub.get_dir()/checkpoints/mixdet/<sha256 of the whole URL, 16 hex>/<file name>``.
The folder is keyed by the full URL, so a file of the same name served by another host never stands in for it,
and mixdet only ever writes or removes files in its own folders. A copy that torch.hub or mmengine already
placed at ``checkpoints/<file name>`` is used (never changed or removed) when the name carries a hash by
torch.hub's convention (``name-<8 or more hex digits>.ext``: the start of the file's sha256, as timm's and
OpenMMLab's published files do) and the file matches it.

A download is written to a hidden partial file in that folder, its hash checked against the name, read back
as data by the caller (:func:`fetch`) and only then renamed into place, so a killed download or a file that
is not a checkpoint never becomes a cache entry. Partial files of the same URL that nobody has written to
for longer than twice the timeout (dead downloads) are removed before the next attempt.

Settings (environment): ``MIXDET_DOWNLOAD_TIMEOUT`` seconds for connecting and for each read (default 60),
``MIXDET_DOWNLOAD_MAX_MB`` size limit (default 2048).
"""
from __future__ import annotations

import glob
import hashlib
import http.client
import os
import posixpath
import re
import secrets
import sys
import time
import urllib.request
from typing import Callable, TypeVar
from urllib.parse import unquote, urlparse

import torch

from mixdet.utils.atomic_files import commit_file

from .errors import CheckpointError, first_line

T = TypeVar('T')
TIMEOUT_ENV, MAX_MB_ENV = 'MIXDET_DOWNLOAD_TIMEOUT', 'MIXDET_DOWNLOAD_MAX_MB'
DEFAULT_TIMEOUT_S, DEFAULT_MAX_MB = 60.0, 2048
HASH_IN_NAME = re.compile(r'-([a-f0-9]{8,})\.')  # torch.hub's HASH_REGEX, at least 8 digits
FILE_NAME = re.compile(r'[A-Za-z0-9_][A-Za-z0-9._+-]*')
CHUNK = 1 << 20


def is_url(source) -> bool:
    return isinstance(source, str) and source.startswith(('http://', 'https://'))


def _setting(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float('nan')
    if not value > 0 or value == float('inf'):
        raise CheckpointError(f'{name}={text!r} is not a positive number')
    return value


def file_name(url: str) -> str:
    """The file name at the end of ``url``'s path, if it is a plain one (no folder, not hidden, no ``..``)."""
    name = posixpath.basename(unquote(urlparse(url).path))
    if not FILE_NAME.fullmatch(name) or name.strip('.') == '':
        raise CheckpointError(f'checkpoint URL {url} does not end in a plain file name')
    return name


def cache_path(url: str) -> str:
    """Where mixdet keeps the download of ``url``."""
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return os.path.join(torch.hub.get_dir(), 'checkpoints', 'mixdet', key, file_name(url))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _hash_prefix(name: str) -> str | None:
    match = HASH_IN_NAME.search(name)
    return match.group(1) if match else None


def shared_copy(url: str) -> str | None:
    """``checkpoints/<file name>`` of torch's hub cache, if the name carries a hash that the file matches."""
    name = file_name(url)
    path, prefix = os.path.join(torch.hub.get_dir(), 'checkpoints', name), _hash_prefix(name)
    if prefix and os.path.isfile(path) and _sha256(path).startswith(prefix):
        return path
    return None


def _remove_dead_partials(final: str, stale_after: float) -> None:
    folder, name = os.path.split(final)
    for partial in glob.glob(os.path.join(glob.escape(folder), f'.{glob.escape(name)}.partial-*')):
        if time.time() - os.path.getmtime(partial) > stale_after:
            os.remove(partial)


def _stream(url: str, partial: str, timeout: float, max_bytes: int) -> None:
    request = urllib.request.Request(url, headers={'User-Agent': 'mixdet'})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(partial, 'xb') as out:
        length = response.headers.get('Content-Length')
        if length is not None and length.isdigit() and int(length) > max_bytes:
            raise CheckpointError(f'checkpoint {url} is {int(length) >> 20} MB, more than {MAX_MB_ENV}='
                                  f'{max_bytes >> 20}')
        written = 0
        for chunk in iter(lambda: response.read(CHUNK), b''):
            written += len(chunk)
            if written > max_bytes:
                raise CheckpointError(f'checkpoint {url} is larger than {MAX_MB_ENV}={max_bytes >> 20} MB; '
                                      f'download stopped')
            out.write(chunk)


def download(url: str, final: str) -> str:
    """Download ``url`` to a new partial file next to ``final`` and check the hash its name carries; return the
    partial file's path (the caller commits or removes it). CheckpointError naming ``url`` on any failure."""
    timeout = _setting(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)
    max_bytes = int(_setting(MAX_MB_ENV, DEFAULT_MAX_MB) * (1 << 20))
    os.makedirs(os.path.dirname(final), exist_ok=True)
    _remove_dead_partials(final, stale_after=2 * timeout)
    folder, name = os.path.split(final)
    partial = os.path.join(folder, f'.{name}.partial-{os.getpid()}-{secrets.token_hex(4)}')
    print(f'downloading {url} to {final}', file=sys.stderr)
    try:
        _stream(url, partial, timeout, max_bytes)
        prefix = _hash_prefix(name)
        if prefix and not _sha256(partial).startswith(prefix):
            raise CheckpointError(f'checkpoint {url} does not match the hash {prefix} in its name; not used')
    except (OSError, http.client.HTTPException) as error:  # URLError, HTTPError, timeouts, a full disk
        _remove(partial)
        raise CheckpointError(f'cannot download checkpoint {url}: {first_line(error)}') from error
    except BaseException:
        _remove(partial)
        raise
    return partial


def _remove(path: str) -> None:
    if os.path.exists(path):
        os.remove(path)


def _dist_info() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _fetch_here(url: str, read: Callable[[str, str], T]) -> T:
    final = shared_copy(url) or cache_path(url)
    if os.path.isfile(final):
        return read(final, url)
    partial = download(url, final)
    try:
        result = read(partial, url)
    except BaseException:
        _remove(partial)
        raise
    commit_file(partial, final)
    return result


def fetch(url: str, read: Callable[[str, str], T]) -> T:
    """``read(local_path, url)`` of the cached copy of ``url``, downloading it first if there is none.

    ``read`` must raise CheckpointError for a file it cannot use: a download it refuses is removed, never cached.
    In a distributed run rank 0 goes first while the others wait at a barrier; a rank that then finds no copy
    (another node without a shared disk) downloads its own, as mmengine's URL loading does.
    """
    rank, world_size = _dist_info()
    if world_size == 1:
        return _fetch_here(url, read)
    result = _fetch_here(url, read) if rank == 0 else None
    torch.distributed.barrier()
    return result if rank == 0 else _fetch_here(url, read)
