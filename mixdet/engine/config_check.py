"""Config values checked before any training time is spent; a bad one is one :class:`ConfigError` line.

mmengine and mmdet accept many values they only fail on later, or never: ``lr=inf`` trains on NaNs,
``norm_eval='maybe'`` is taken as true, ``val_interval=0`` divides by zero once training has started.
:func:`check_config` looks at the values whose type and range are known before anything is built.
"""
from __future__ import annotations

import math
from typing import Any, Iterator


class ConfigError(ValueError):
    """A config value that cannot work; the message is one line naming the key and the value."""


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every entry under ``value`` (dicts and lists, recursively)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f'{path}.{key}' if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, f'{path}[{index}]')
    if path:
        yield path, value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_config(cfg: Any) -> None:
    """ConfigError for the first value of ``cfg`` (an mmengine Config or dict) that cannot work."""
    for key, value in _walk(dict(cfg.get('model') or {}), 'model'):
        if key.endswith('.norm_eval') and not isinstance(value, bool):
            raise ConfigError(f'{key}={value!r}: give True or False')
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
    for name in ('lr', 'weight_decay', 'momentum'):
        value = optimizer.get(name)
        if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                      and math.isfinite(value) and value >= 0 and (name != 'lr' or value > 0)):
            raise ConfigError(f'optim_wrapper.optimizer.{name}={value!r}: give a finite number'
                              f'{" > 0" if name == "lr" else " >= 0"}')
    train_cfg = cfg.get('train_cfg') or {}
    for name in ('max_iters', 'max_epochs', 'val_interval'):
        value = train_cfg.get(name)
        if value is not None and not (_is_int(value) and value > 0):
            raise ConfigError(f'train_cfg.{name}={value!r}: give a positive int')
