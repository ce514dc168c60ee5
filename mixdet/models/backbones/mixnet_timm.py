"""timm's MixNet checkpoints (``mixnet_{s,m,l}``, ``tf_mixnet_{s,m,l}``) as mixdet backbone checkpoints.

mixdet's MixNet keeps timm's module names, so conversion drops the classifier, checks
that every remaining key and shape matches one of the MixNet-S/M/L builds, and records
which arch (and the backbone settings the weights need) in the checkpoint's ``meta``
(tools/model_converters/convert_timm_mixnet.py). Neither timm nor geffnet is needed.
"""
from __future__ import annotations

from pathlib import Path

import torch

from mixdet.archs import MIXNET_ARCHS
from mixdet.checkpoint import CheckpointError, checkpoint_state, read_weights

from .mixnet import TIMM_CLASSIFIER, MixNet

NESTED_KEYS = ('state_dict', 'model', 'state_dict_ema')


def load_timm_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a timm checkpoint (.pth/.pt/.bin or .safetensors) as data; CheckpointError naming ``path`` otherwise."""
    return checkpoint_state(read_weights(path), str(path), nested=NESTED_KEYS)


def convert_timm_mixnet(state: dict[str, torch.Tensor], source: str = 'checkpoint') -> tuple[dict, str]:
    """Return (backbone state_dict without classifier, arch name 's'|'m'|'l').

    Raises CheckpointError naming ``source`` and the first mismatching key when the weights are
    not a MixNet-S/M/L.
    """
    backbone = {k: v for k, v in state.items() if not k.startswith(TIMM_CLASSIFIER)}
    if 'conv_stem.weight' not in backbone:
        raise CheckpointError(f'{source} is not a timm MixNet checkpoint (no conv_stem.weight key)')
    mismatches = {}
    for arch in MIXNET_ARCHS:
        expected = MixNet.state_shapes(arch)
        missing = sorted(set(expected) - set(backbone))
        unexpected = sorted(set(backbone) - set(expected))
        wrong = sorted(k for k in set(expected) & set(backbone) if tuple(backbone[k].shape) != expected[k])
        if not (missing or unexpected or wrong):
            return backbone, arch
        mismatches[arch] = (missing[:1] or unexpected[:1] or wrong[:1])[0]
    details = ', '.join(f'MixNet-{a.upper()} differs at {k!r}' for a, k in mismatches.items())
    raise CheckpointError(f'{source} does not match MixNet-S, -M or -L ({details})')


def backbone_settings(arch: str, tf_variant: bool) -> dict:
    """MixNet config arguments that reproduce timm's model for these weights."""
    if tf_variant:
        return dict(type='MixNet', arch=arch, padding='same', norm_cfg=dict(type='BN', eps=1e-3))
    return dict(type='MixNet', arch=arch, padding='symmetric', norm_cfg=dict(type='BN', eps=1e-5))
