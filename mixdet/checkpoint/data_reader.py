"""Read a checkpoint file as data: the one reader behind every weight file mixdet or mmengine opens.

``torch.load(weights_only=True)`` with a short list of admitted globals: besides torch's own set (tensors,
containers, numbers, strings) the file may build numpy arrays, scalars and dtypes (mmengine's log history and
scheduler state hold them) and :mod:`inert <mixdet.checkpoint.inert>` stand-ins for mmengine's
``HistoryBuffer``. So checkpoints as mmengine's Runner saves them (mmdet's published weights included) read
without re-saving, and no function a file names is ever called beyond numpy's array builders. Anything else
(``os.system``, ``builtins.getattr``, ``eval``, ...) is refused with one :class:`CheckpointError` line that names
every global the file asks for outside that list. ``.safetensors`` files hold tensors only by design.
"""
from __future__ import annotations

import os
import pickle
import re
import struct
import zipfile
from typing import Any, Callable

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file as load_safetensors

from .errors import CheckpointError, first_line
from .inert import STAND_INS

_MULTIARRAY = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray


def _alias(function: Callable, module: str) -> Callable:
    """``function`` under the module name that numpy 1.x wrote into pickles (``numpy.core.multiarray``)."""
    def alias(*args):
        return function(*args)
    alias.__module__, alias.__qualname__ = module, function.__name__
    return alias


def _numpy_globals() -> list:
    dtype_classes = [cls for cls in vars(np.dtypes).values() if isinstance(cls, type) and issubclass(cls, np.dtype)]
    builders = [_MULTIARRAY._reconstruct, _MULTIARRAY.scalar]
    legacy = [_alias(f, 'numpy.core.multiarray') for f in builders if f.__module__ != 'numpy.core.multiarray']
    return [np.ndarray, np.dtype, *dtype_classes, *builders, *legacy]


# What a checkpoint may build besides torch's weights-only set.
ADMITTED_GLOBALS = [*_numpy_globals(), *STAND_INS.values()]
ADMITTED_NAMES = frozenset(f'{g.__module__}.{g.__qualname__}' for g in ADMITTED_GLOBALS)
# torch's zip reader, a cut-off or foreign pickle, a text file: all mean "not a readable checkpoint".
_UNREADABLE = (RuntimeError, EOFError, OSError, ValueError, IndexError, KeyError, TypeError, AttributeError,
               struct.error, zipfile.BadZipFile, UnicodeDecodeError, MemoryError, OverflowError)


def disallowed_globals(path: str, error: Exception) -> list[str]:
    """Every global the checkpoint at ``path`` names outside torch's set and :data:`ADMITTED_NAMES` (zip files), or
    the one torch's error names (legacy files, which torch cannot list without reading them)."""
    if zipfile.is_zipfile(path):
        with torch.serialization.safe_globals(ADMITTED_GLOBALS):
            return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    return re.findall(r'GLOBAL (\S+) was not an allowed global', str(error))[:1]


def _unpickler_reason(error: Exception) -> str:
    """The line of torch's weights-only error that says what it met (torch wraps it in a long preamble)."""
    match = re.search(r'WeightsUnpickler error:\s*(.+)', str(error))
    return match.group(1).strip()[:200] if match else first_line(error)


def _check_file(path: str, label: str) -> None:
    if not os.path.isfile(path):
        raise CheckpointError(f'checkpoint {label} does not exist or is not a file')
    if os.path.getsize(path) == 0:
        raise CheckpointError(f'checkpoint {label} is empty (0 bytes)')


def read_checkpoint(path: str | os.PathLike, map_location: Any = 'cpu', name: str | None = None) -> dict:
    """The dict a torch checkpoint file holds, read as data; otherwise CheckpointError, one line naming ``name``
    (default: ``path``)."""
    path = os.fspath(path)
    label = name or path
    _check_file(path, label)
    try:
        with torch.serialization.safe_globals(ADMITTED_GLOBALS):
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        names = disallowed_globals(path, error)
        if names or re.search(r'Unsupported global|unrecognized function', str(error)):
            what = ', '.join(names) or _unpickler_reason(error)
            raise CheckpointError(f'refusing to load checkpoint {label}: it asks to run or build Python objects '
                                  f'({what}), which a checkpoint never needs; nothing from it was run') from error
        raise CheckpointError(f'cannot read checkpoint {label}: not a PyTorch checkpoint '
                              f'({_unpickler_reason(error)})') from error
    except _UNREADABLE as error:
        raise CheckpointError(f'cannot read checkpoint {label}: truncated or not a PyTorch checkpoint '
                              f'({first_line(error)})') from error
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'checkpoint {label} holds a {type(checkpoint).__name__}, not a dict')
    return checkpoint


def read_safetensors(path: str | os.PathLike, name: str | None = None) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file (on the CPU); CheckpointError naming ``name`` (or ``path``) otherwise."""
    path = os.fspath(path)
    label = name or path
    _check_file(path, label)
    try:
        return load_safetensors(path, device='cpu')
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f'cannot read checkpoint {label}: not a safetensors file ({first_line(error)})') \
            from error


def read_weights(path: str | os.PathLike, map_location: Any = 'cpu', name: str | None = None) -> dict:
    """A ``.safetensors`` file's tensors, or the dict of a torch checkpoint, read as data (``name``, e.g. the URL
    a file came from, is what errors name and what decides the format; default ``path``)."""
    if (name or os.fspath(path)).endswith('.safetensors'):
        return read_safetensors(path, name)
    return read_checkpoint(path, map_location, name)
