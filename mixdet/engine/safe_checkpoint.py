"""Checkpoints are untrusted input: read them as data, never as code.

:func:`load_checkpoint_file` is the one place where mixdet reads a checkpoint (``--resume``, ``load_from``,
``tools/test.py``, ``Pretrained``). It calls ``torch.load(weights_only=True)`` with no extra allowed globals,
so the file may hold tensors, containers and Python scalars/strings only: no class is instantiated and no
function is called while it is read. A file that is missing, truncated, not a checkpoint or that asks for
anything else is refused with one :class:`CheckpointError` line naming it. ``.safetensors`` weights (timm's
format) are read by :func:`load_safetensors_file`, which holds tensors only by design.

mmengine stores its log history (``MessageHub``) as ``HistoryBuffer`` objects with numpy arrays inside,
which only an unpickler that instantiates classes could read (and, with ``builtins.getattr`` allowed as
mixdet once did, one that reaches ``eval``). Checkpoints that mixdet writes store that state as plain data
(:func:`message_hub_to_plain`) and :func:`message_hub_from_plain` rebuilds it; older mmengine checkpoints
are refused with the command that re-saves a trusted one (``tools/model_converters/resave_checkpoint.py``).
"""
from __future__ import annotations

import os
import pickle
import zipfile
from typing import Any

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from safetensors import SafetensorError
from safetensors.torch import load_file as load_safetensors

from mixdet.utils.state_dicts import CheckpointError

RESAVE_COMMAND = 'python tools/model_converters/resave_checkpoint.py'
# Marks a message-hub state written by message_hub_to_plain.
PLAIN_FORMAT = 'mixdet-plain-v1'


def _refusal(path: str) -> CheckpointError:
    """The error for a checkpoint that needs globals outside torch's weights-only set."""
    names = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path)) if zipfile.is_zipfile(path) else []
    shown = ', '.join(names[:4]) + (', ...' if len(names) > 4 else '')
    if any(name.startswith('mmengine.') or name.startswith('numpy') for name in names):
        return CheckpointError(
            f'refusing to load checkpoint {path}: it stores Python objects ({shown}) as plain mmengine writes '
            f'them, which cannot be read without running code from the file; if you trust it, re-save it as data '
            f'with `{RESAVE_COMMAND} {path} NEW.pth`')
    return CheckpointError(f'refusing to load checkpoint {path}: it asks to run or build Python objects '
                           f'({shown or "not a zip checkpoint"}), which a checkpoint never needs')


def load_checkpoint_file(path: str | os.PathLike, map_location: Any = 'cpu') -> dict:
    """``torch.load(path, weights_only=True)``, which must give a dict; errors name ``path`` in one line."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f'checkpoint {path} does not exist or is not a file')
    if os.path.getsize(path) == 0:
        raise CheckpointError(f'checkpoint {path} is empty (0 bytes)')
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if zipfile.is_zipfile(path) or 'Unsupported global' in str(error) or 'Unsupported operand' in str(error):
            raise _refusal(path) from error
        raise CheckpointError(f'cannot read checkpoint {path}: not a PyTorch checkpoint ({_first_line(error)})') \
            from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:  # torch's zip reader / a cut-off pickle
        raise CheckpointError(f'cannot read checkpoint {path}: truncated or not a PyTorch checkpoint '
                              f'({_first_line(error)})') from error
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'checkpoint {path} holds a {type(checkpoint).__name__}, not a dict')
    return checkpoint


def load_safetensors_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file (on the CPU); errors name ``path`` in one line."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f'checkpoint {path} does not exist or is not a file')
    try:
        return load_safetensors(path, device='cpu')
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f'cannot read checkpoint {path}: not a safetensors file ({_first_line(error)})') \
            from error


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def to_plain(value: Any) -> Any:
    """numpy scalars/arrays as Python numbers/lists, containers recursively; other values unchanged."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_plain(v) for v in value)
    return value


def message_hub_to_plain(state: dict) -> dict:
    """``MessageHub.state_dict()`` as plain data: each HistoryBuffer becomes its lists and max length."""
    scalars = {key: dict(log_history=buffer.data[0].tolist(), count_history=buffer.data[1].tolist(),
                         max_length=buffer.max_length)
               for key, buffer in state['log_scalars'].items()}
    return dict(format=PLAIN_FORMAT, log_scalars=scalars, runtime_info=to_plain(dict(state['runtime_info'])),
                resumed_keys=dict(state['resumed_keys']))


def message_hub_from_plain(state: Any, path: str) -> dict:
    """The ``MessageHub.load_state_dict`` input for a state written by :func:`message_hub_to_plain`."""
    if not isinstance(state, dict) or state.get('format') != PLAIN_FORMAT:
        raise CheckpointError(f'checkpoint {path} has no message-hub state in mixdet\'s plain format; if you trust '
                              f'it, re-save it with `{RESAVE_COMMAND} {path} NEW.pth`')
    scalars = {}
    for key, buffer in state['log_scalars'].items():
        logs, counts = buffer.get('log_history'), buffer.get('count_history')
        if not (isinstance(logs, list) and isinstance(counts, list) and len(logs) == len(counts)
                and all(isinstance(v, (int, float)) for v in logs + counts)):
            raise CheckpointError(f'checkpoint {path}: message-hub scalar {key!r} is not two equal-length lists '
                                  f'of numbers')
        scalars[key] = HistoryBuffer(logs, counts, int(buffer.get('max_length', 1000000)))
    return dict(log_scalars=scalars, runtime_info=dict(state['runtime_info']),
                resumed_keys=dict(state['resumed_keys']))
