"""Which MixNet variant a state_dict holds, from its tensor shapes (for errors that say it in words)."""
from __future__ import annotations

from functools import lru_cache

from .mixnet_archs import MIXNET_ARCHS


@lru_cache(maxsize=None)
def _block_shapes(arch: str) -> frozenset:
    """(key, shape) of every ``blocks.*`` tensor of MixNet-``arch`` (widen_factor 1)."""
    from .mixnet import MixNet
    return frozenset((key, tuple(value.shape)) for key, value in MixNet(arch=arch).state_dict().items()
                     if key.startswith('blocks.'))


def mixnet_variant(state: dict, prefix: str = 'backbone.') -> str | None:
    """'MixNet-S', '-M' or '-L' when the ``blocks.*`` tensors under ``prefix`` are exactly that variant's, else None."""
    shapes = frozenset((key[len(prefix):], tuple(value.shape)) for key, value in state.items()
                       if key.startswith(prefix + 'blocks.') and hasattr(value, 'shape'))
    for arch in MIXNET_ARCHS:
        if shapes and shapes == _block_shapes(arch):
            return f'MixNet-{arch.upper()}'
    return None
