"""Inert stand-ins for the few objects besides tensors that mmengine writes into checkpoints.

A checkpoint saved by mmengine's Runner (mmdet's published weights included) stores its log history as
``mmengine.logging.history_buffer.HistoryBuffer`` objects. The data-only reader builds, in their place,
an :class:`Inert` object that only records the state the file gives it: no method of the real class runs,
and nothing the file names is looked up or called. Code that needs the real object (resuming a run) builds
it from that recorded state after checking it (:func:`history_buffer_state`).

``builtins.getattr``, which that history names for its statistics methods, becomes :func:`inert_getattr`: it
records the reference and looks nothing up, so a chain of getattr calls planted in a file stays data.

The stand-ins carry the real class's or function's module and name, because that is how torch's weights-only unpickler
matches admitted globals (``{__module__}.{__qualname__}``); a stand-in can therefore never be pickled again
by mistake (pickle finds that the name leads to a different class and refuses).
"""
from __future__ import annotations

from typing import Any

import numpy as np


class Inert:
    """An object of an admitted class, as the checkpoint describes it: ``state`` is what the file stores."""

    qualified_name = ''

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f'<inert {self.qualified_name}>'


def _stand_in(qualified_name: str) -> type:
    module, _, name = qualified_name.rpartition('.')
    return type(name, (Inert,), dict(__module__=module, __qualname__=name, qualified_name=qualified_name,
                                     __doc__=f'Inert stand-in for {qualified_name} (state only).'))


class InertAttribute:
    """``getattr(owner, name)`` as a pickle asked for it: recorded, never looked up."""

    def __init__(self, owner: Any, name: Any):
        self.owner, self.name = owner, name

    def __repr__(self) -> str:
        return f'<inert attribute {self.name!r}>'


def inert_getattr(owner: Any, name: Any) -> InertAttribute:
    """Stands in for ``builtins.getattr``, which mmengine's pickled log history names for its statistics methods
    (``getattr(HistoryBuffer, 'mean')``): the reference is recorded, nothing is looked up or called."""
    return InertAttribute(owner, name)


inert_getattr.__module__, inert_getattr.__qualname__ = 'builtins', 'getattr'

HISTORY_BUFFER = 'mmengine.logging.history_buffer.HistoryBuffer'
STAND_INS = {HISTORY_BUFFER: _stand_in(HISTORY_BUFFER), 'builtins.getattr': inert_getattr}


def is_inert(value: Any, qualified_name: str) -> bool:
    """Whether ``value`` is the stand-in of ``qualified_name``."""
    return isinstance(value, Inert) and value.qualified_name == qualified_name


def history_buffer_state(value: Any) -> tuple[list, list, int] | None:
    """``(log_history, count_history, max_length)`` of a HistoryBuffer stand-in whose state is two equal-length
    1-D numeric arrays and an int; None for anything else."""
    if not is_inert(value, HISTORY_BUFFER) or not isinstance(getattr(value, 'state', None), dict):
        return None
    logs, counts = value.state.get('_log_history'), value.state.get('_count_history')
    max_length = value.state.get('max_length')
    arrays_ok = all(isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind in 'biuf' for a in (logs, counts))
    if not (arrays_ok and len(logs) == len(counts) and isinstance(max_length, int) and max_length > 0):
        return None
    return logs.tolist(), counts.tolist(), max_length
