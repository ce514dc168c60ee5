"""Load mmengine checkpoints with ``torch.load(weights_only=True)`` (torch >= 2.6).

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``, so torch's safe unpickler
refuses the message-hub state that every mmengine checkpoint carries (``HistoryBuffer``
and the numpy scalars/arrays inside it). :func:`mmengine_checkpoint_globals` allows
exactly those types for the duration of a ``with`` block; anything else in a checkpoint is
still refused, and :func:`explain_refused_checkpoint` turns torch's error into one
sentence naming the file and the types.
"""
from __future__ import annotations

import builtins
import contextlib
from pathlib import Path

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer


def _numpy_reconstruct_globals() -> list:
    from numpy._core.multiarray import _reconstruct, scalar  # numpy 2.x module path
    return [_reconstruct, scalar]


def allowed_globals() -> list:
    """The types an mmengine 0.10.7 training checkpoint holds besides tensors and containers."""
    names = ('Float64DType', 'Float32DType', 'Int64DType', 'Int32DType', 'BoolDType')
    dtypes = [getattr(np.dtypes, name) for name in names]
    # getattr: HistoryBuffer pickles its bound statistics methods through builtins.getattr.
    return [HistoryBuffer, *_numpy_reconstruct_globals(), np.ndarray, np.dtype, *dtypes, builtins.getattr]


@contextlib.contextmanager
def mmengine_checkpoint_globals():
    """Within the block, ``torch.load(weights_only=True)`` accepts mmengine's own checkpoints."""
    with torch.serialization.safe_globals(allowed_globals()):
        yield


def explain_refused_checkpoint(path: str | Path, error: Exception) -> str:
    """One sentence naming the checkpoint and the types that kept it from loading."""
    path = str(path)
    names = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path)) if Path(path).is_file() else []
    allowed = {f'{g.__module__}.{g.__qualname__}' for g in allowed_globals()}
    extra = [n for n in names if n not in allowed]
    return (f'refusing to load checkpoint {path}: it holds types outside the mmengine allow-list '
            f'({", ".join(extra) or error}); only load checkpoints you trust, and if this one is, '
            f'convert it to a plain state_dict first')
