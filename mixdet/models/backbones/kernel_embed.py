"""Pretrained depthwise kernels into MixConv groups, keeping the function (MixConv drop-in, arXiv 1907.09595).

A k0 x k0 depthwise kernel goes unchanged into the group of kernel k0 and zero-padded at the centre into each
larger group: with 'symmetric' (k // 2) and TF 'same' padding alike the larger group then computes exactly
what the k0 x k0 kernel computed, so a wrapped backbone starts as the function of its pretrained weights.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mixdet.checkpoint import CheckpointError
from mixdet.layers import MixedConv2d


def embed_kernel(weight: torch.Tensor, mixed: MixedConv2d, name: str) -> list[torch.Tensor]:
    """[C, 1, k0, k0] -> the group weights of ``mixed`` ([C_i, 1, k_i, k_i], k_i >= k0), centre-embedded."""
    k0 = weight.shape[-1]
    groups = []
    for piece, conv in zip(torch.split(weight, [conv.weight.shape[0] for conv in mixed]), mixed):
        k = conv.weight.shape[-1]
        if k < k0:
            raise ValueError(f'{name}: a pretrained {k0}x{k0} depthwise kernel does not fit its {k}x{k} MixConv '
                             f'group; kernel_sizes must all be >= {k0} to load these weights')
        pad = (k - k0) // 2
        groups.append(F.pad(piece, (pad, pad, pad, pad)))
    return groups


def embed_depthwise_state(state: dict[str, torch.Tensor], backbone: nn.Module, replaced: dict[str, int],
                          source: str) -> dict[str, torch.Tensor]:
    """A state_dict of the plain backbone -> one of the wrapped ``backbone``.

    ``replaced``: {layer name: original kernel size}. ``{name}.weight`` of each replaced layer becomes
    ``{name}.{i}.weight`` (MixedConv2d's keys); other keys are kept. ValueError names ``source`` when a
    replaced layer's kernel is missing or not the [C, 1, k0, k0] kernel of the plain layer (CheckpointError).
    """
    state = dict(state)
    for name, k0 in replaced.items():
        mixed = backbone.get_submodule(name)
        expected = (mixed.in_channels, 1, k0, k0)
        weight = state.pop(f'{name}.weight', None)
        if weight is None or tuple(weight.shape) != expected:
            found = 'no tensor' if weight is None else f'shape {tuple(weight.shape)}'
            raise CheckpointError(f'checkpoint {source} has {found} for {name}.weight, the depthwise kernel of '
                                  f'shape {expected} that MixConvBackbone embeds')
        state.update((f'{name}.{i}.weight', w) for i, w in enumerate(embed_kernel(weight, mixed, name)))
    return state
