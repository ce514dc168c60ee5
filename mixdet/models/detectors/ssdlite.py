"""SSDLite detector whose neck and head widths follow the backbone's taps.

Configs may leave widths to the build: ``neck.in_channels=None``, ``None`` entries in
``neck.out_channels`` (the levels taken straight from the backbone) and
``bbox_head.in_channels=None`` are filled from the backbone, so swapping MixNet-S for -L or
for mmdet's MobileNetV2 is a one-line change. Widths written out explicitly are checked, and
a mismatch fails at build time naming the expected channels.
"""
from __future__ import annotations

import copy

import torch
from mmdet.models.detectors import SingleStageDetector

from mixdet.registry import MODELS


def backbone_channels(backbone: torch.nn.Module) -> tuple[int, ...]:
    """Channels of each backbone output: ``out_channels`` when the backbone records them (MixNet),
    otherwise measured by one forward pass of a 64x64 image in eval mode (e.g. mmdet's MobileNetV2)."""
    if hasattr(backbone, 'out_channels'):
        return tuple(backbone.out_channels)
    backbone.eval()  # mmdet's MobileNetV2.train() returns None, so no chaining
    with torch.no_grad():
        outs = backbone(torch.zeros(1, 3, 64, 64))
    return tuple(o.shape[1] for o in outs)


def resolve_widths(taps: tuple[int, ...], neck: dict, bbox_head: dict) -> tuple[dict, dict]:
    """Fill ``None`` widths of an SSD neck/head config from the backbone taps; check the given ones.

    Returns new (neck, bbox_head) configs; raises ValueError naming expected and configured channels.
    """
    neck, bbox_head = copy.deepcopy(neck), copy.deepcopy(bbox_head)
    in_channels = neck.get('in_channels')
    if in_channels is None:
        in_channels = taps
    elif tuple(in_channels) != taps:
        raise ValueError(f'neck.in_channels={tuple(in_channels)} does not match the backbone, whose out_indices give '
                         f'channels {taps}: set model.neck.in_channels={taps} (or None to follow the backbone)')
    out_channels = list(neck['out_channels'])
    for i, tap in enumerate(taps):
        if out_channels[i] is None:
            out_channels[i] = tap
        elif out_channels[i] != tap:
            raise ValueError(f'neck.out_channels[{i}]={out_channels[i]} must equal the backbone channels {tap} '
                             f'(SSDNeck passes its input levels through); expected channels {taps}')
    if any(c is None for c in out_channels):
        raise ValueError(f'neck.out_channels={tuple(out_channels)}: only the {len(taps)} backbone levels may be None')
    neck['in_channels'], neck['out_channels'] = tuple(in_channels), tuple(out_channels)
    head_in = bbox_head.get('in_channels')
    if head_in is None:
        bbox_head['in_channels'] = tuple(out_channels)
    elif tuple(head_in) != tuple(out_channels):
        raise ValueError(f'bbox_head.in_channels={tuple(head_in)} does not match neck.out_channels='
                         f'{tuple(out_channels)}')
    return neck, bbox_head


@MODELS.register_module()
class SSDLiteDetector(SingleStageDetector):
    """``SingleStageDetector`` (backbone -> SSDNeck -> SSD head) with widths resolved by :func:`resolve_widths`.

    Arguments as ``SingleStageDetector``.
    """

    def __init__(self, backbone: dict, neck: dict, bbox_head: dict, **kwargs):
        taps = backbone_channels(MODELS.build(backbone))
        neck, bbox_head = resolve_widths(taps, neck, bbox_head)
        super().__init__(backbone=backbone, neck=neck, bbox_head=bbox_head, **kwargs)
