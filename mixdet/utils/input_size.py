"""The fixed input size of a config's test pipeline: what the exported model is traced at and get_flops counts at."""
from __future__ import annotations

from typing import Mapping


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
