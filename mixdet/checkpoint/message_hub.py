"""The training state of a checkpoint as plain data: the message hub that mmengine keeps as Python objects.

mmengine's ``MessageHub`` holds its log history as ``HistoryBuffer`` objects with numpy arrays inside.
Checkpoints that mixdet writes store that state as plain data (:func:`message_hub_to_plain`); checkpoints that
plain mmengine wrote hold inert stand-ins for the buffers once read (:mod:`mixdet.checkpoint.inert`).
:func:`message_hub_state` rebuilds real buffers from either, after checking every value, for ``--resume`` (the
caller passes mmengine's ``HistoryBuffer`` class: nothing here imports mmengine).
Reading the file itself is :func:`mixdet.checkpoint.read_checkpoint` (data only).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import CheckpointError
from .inert import Inert, history_buffer_state

# Marks a message-hub state written by message_hub_to_plain.
PLAIN_FORMAT = 'mixdet-plain-v1'


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


def _plain_buffer(buffer: Any) -> tuple[list, list, int] | None:
    if not isinstance(buffer, dict):
        return None
    logs, counts, max_length = buffer.get('log_history'), buffer.get('count_history'), buffer.get('max_length')
    if not (isinstance(logs, list) and isinstance(counts, list) and len(logs) == len(counts)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in logs + counts)
            and isinstance(max_length, int) and max_length > 0):
        return None
    return logs, counts, max_length


def _contains_inert(value: Any) -> bool:
    if isinstance(value, Inert):
        return True
    if isinstance(value, dict):
        return any(_contains_inert(v) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return any(_contains_inert(v) for v in value)
    return False


# Runtime information that mmengine's loops and hooks read back after resuming: what each must be.
_NUMBER, _INT, _PATH = ((int, float), 'a number'), ((int,), 'an int'), ((str, type(None)), 'a path')
RUNTIME_TYPES = dict(epoch=_INT, iter=_INT, max_epochs=_INT, max_iters=_INT, best_score=_NUMBER, best_ckpt=_PATH,
                     last_ckpt=_PATH)


def _runtime_problem(key: str, value: Any) -> str | None:
    """Why ``runtime_info[key]`` cannot be what mmengine expects there (None if it can); ``best_score_<metric>``
    and ``best_ckpt_<metric>`` count as ``best_score`` and ``best_ckpt``."""
    kind = next((k for k in ('best_score', 'best_ckpt') if key.startswith(k + '_')), key)
    types, words = RUNTIME_TYPES.get(kind, (None, None))
    if types is not None and (isinstance(value, bool) or not isinstance(value, types)):
        return f'{key}={value!r} is not {words}'
    if key == 'keep_ckpt_ids' and not (isinstance(value, list) and all(type(i) is int for i in value)):
        return f'keep_ckpt_ids={value!r} is not a list of ints'
    return None


def message_hub_state(state: Any, path: str, history_buffer: type) -> dict:
    """The ``MessageHub.load_state_dict`` input for the message hub of a checkpoint (mixdet's plain format or
    mmengine's own), every value checked: CheckpointError naming ``path`` and the entry otherwise. Each log
    history becomes ``history_buffer(log_history, count_history, max_length)`` (mmengine's HistoryBuffer)."""
    if not isinstance(state, dict) or not all(isinstance(state.get(k), dict) for k in ('log_scalars', 'runtime_info')):
        raise CheckpointError(f'checkpoint {path} has no readable message-hub state (log_scalars, runtime_info)')
    read_buffer = _plain_buffer if state.get('format') == PLAIN_FORMAT else history_buffer_state
    scalars = {}
    for key, buffer in state['log_scalars'].items():
        fields = read_buffer(buffer)
        if not isinstance(key, str) or fields is None:
            raise CheckpointError(f'checkpoint {path}: message-hub scalar {key!r} is not a log history (two '
                                  f'equal-length lists of numbers and a positive max length)')
        scalars[key] = history_buffer(*fields)
    runtime_info = to_plain(dict(state['runtime_info']))
    odd = sorted(str(key) for key, value in runtime_info.items() if not isinstance(key, str) or _contains_inert(value))
    if odd:
        raise CheckpointError(f'checkpoint {path}: message-hub runtime info {odd} holds objects, not data')
    for key, value in runtime_info.items():
        problem = _runtime_problem(key, value)
        if problem:
            raise CheckpointError(f'checkpoint {path}: message-hub runtime info {problem}')
    resumed = state.get('resumed_keys', {})
    if not (isinstance(resumed, dict) and all(isinstance(k, str) and isinstance(v, bool) for k, v in resumed.items())):
        raise CheckpointError(f'checkpoint {path}: message-hub resumed_keys is not a dict of str -> bool')
    return dict(log_scalars=scalars, runtime_info=runtime_info, resumed_keys=dict(resumed))
