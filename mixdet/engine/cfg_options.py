"""``--cfg-options`` that say what is wrong with them, naming the option.

mmengine merges any ``KEY=VALUE`` silently: a typo in a key (``default_hook.checkpoint.interval=1``) adds a
new, unused key, and ``train_cfg.max_iters=abc`` fails much later, deep in the training loop, without
naming the option. Here:

* an argument without ``=`` is an error naming it (argparse's usage line);
* a value whose type cannot replace the config's (a word where the config has a number or a bool) is an
  error naming the key, the value and the config's value;
* a key the config does not have is a warning naming the closest existing key.
"""
from __future__ import annotations

import argparse
import difflib
import warnings
from typing import Any

from mmengine.config import Config, DictAction


class CheckedDictAction(DictAction):
    """mmengine's DictAction, refusing an argument that is not KEY=VALUE with argparse's usage error."""

    def __call__(self, parser, namespace, values, option_string=None):
        for value in values:
            key, sep, _ = value.partition('=')
            if not sep or not key:
                raise argparse.ArgumentError(self, f'{value!r} is not KEY=VALUE (e.g. train_cfg.max_iters=100)')
        super().__call__(parser, namespace, values, option_string)


def _numeric_kind(value: Any) -> str | None:
    """'bool', 'number' or None for values that are neither."""
    if isinstance(value, bool):
        return 'bool'
    return 'number' if isinstance(value, (int, float)) else None


def check_cfg_options(cfg: Config, options: dict) -> None:
    """Check ``options`` (``--cfg-options``, parsed) against ``cfg`` before they are merged.

    Raises ValueError naming the option when a number or bool of the config would be replaced by something
    else; warns (UserWarning) naming the closest key when a key does not exist in the config.
    """
    for dotted, value in options.items():
        node: Any = dict(cfg.items())
        path = []
        for part in dotted.split('.'):
            if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                known = [str(k) for k in node] if isinstance(node, dict) else []
                close = difflib.get_close_matches(part, known, n=1)
                where = '.'.join(path) or 'the top level'
                hint = f'; did you mean {".".join(path + close)!r}?' if close else ''
                warnings.warn(f'--cfg-options {dotted}: the config has no key {part!r} at {where}; it is added as '
                              f'a new key{hint}', UserWarning, stacklevel=2)
                break
            path.append(part)
        else:
            kind = _numeric_kind(node)
            if kind is not None and _numeric_kind(value) != kind and not (kind == 'number' and value is None):
                raise ValueError(f'--cfg-options {dotted}={value!r}: expected a {kind} like the config\'s value '
                                 f'{node!r}')
