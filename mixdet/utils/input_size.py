"""The fixed input size of a config's test pipeline: what the exported model is traced at and get_flops counts at."""
from __future__ import annotations

from typing import Mapping, Optional, Sequence


def test_input_size(cfg: Mapping) -> tuple[int, int] | None:
    """(H, W) of the test pipeline's ``Resize(keep_ratio=False)``, or None when it has no fixed-size resize (or the
    config no test dataloader, e.g. a bare backbone config)."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    for step in dataset.get('pipeline', []):
        if step.get('type') == 'Resize' and not step.get('keep_ratio', False):
            scale = step.get('scale')
            width, height = (scale, scale) if isinstance(scale, int) else scale
            return height, width
    return None


def input_size(cfg: Mapping, shape: Optional[Sequence[int]], config: str) -> tuple[int, int]:
    """(H, W) of a tool's ``--shape H [W]`` when given, else of the config's test pipeline; ValueError in one line
    naming the value or the config (``config``: its path) otherwise."""
    if shape is not None:
        if len(shape) not in (1, 2) or min(shape) < 1:
            raise ValueError(f'--shape takes a positive H or H W, got {list(shape)}')
        return shape[0], shape[-1]
    size = test_input_size(cfg)
    if size is None:
        raise ValueError(f'{config} has no fixed input size (no Resize with keep_ratio=False in its test pipeline): '
                         f'give one with --shape H [W]')
    return size
