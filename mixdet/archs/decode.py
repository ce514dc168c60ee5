"""Strict, pure decoder of MixNet arch tables (timm's block-string grammar, TF MixNet semantics).

A block string is ``<type>_<key><value>_...``, e.g. ``ir_r1_k3.5.7_a1.1_p1.1_s2_e6_c40_se0.5_nsw``:

=========  ===============================================================================
``ds``     block type first: ``ds`` depthwise-separable or ``ir`` inverted residual
``r``      repeats (int); only the first repeat has the stride
``k``      depthwise kernel per channel group, ``.``-separated (``3.5.7`` = 3 groups: MixConv)
``a``      expansion 1x1 kernels; ``a1.1`` = a 1x1 conv in 2 groups (default ``1``)
``p``      projection 1x1 kernels, as ``a`` (default ``1``)
``s``      stride (``s2``; TF's ``s22`` is accepted when both digits agree)
``e``      expansion ratio (float); must be 1 for ``ds``
``c``      output channels before width scaling
``se``     squeeze-excite ratio of the block's input width (absent: no SE)
``nsw``    Swish activation (``nre``: ReLU, the default)
``noskip`` no residual connection
=========  ===============================================================================

Unknown, repeated or missing keys raise ``ValueError`` naming the string. Nothing here builds modules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

BLOCK_TYPES = ('ds', 'ir')
BLOCK_KEYS = ('r', 'k', 'a', 'p', 's', 'e', 'c', 'se', 'nsw', 'nre', 'noskip')
ARCH_KEYS = ('stem_channels', 'head_channels', 'width', 'stages')
_TOKEN = re.compile(r'^(se|noskip|nsw|nre|r|k|a|p|s|e|c)(.*)$')


@dataclass(frozen=True)
class BlockSpec:
    """One decoded block string (before repeats are expanded and widths are scaled)."""
    block_type: str
    repeats: int
    dw_kernels: tuple[int, ...]
    exp_kernels: tuple[int, ...]
    pw_kernels: tuple[int, ...]
    stride: int
    exp_ratio: float
    out_channels: int
    se_ratio: float
    swish: bool
    skip: bool


@dataclass(frozen=True)
class ArchSpec:
    stem_channels: int
    head_channels: int
    width: float
    stages: tuple[tuple[BlockSpec, ...], ...]


def _kernels(text: str, key: str, block: str) -> tuple[int, ...]:
    try:
        kernels = tuple(int(k) for k in text.split('.'))
    except ValueError:
        raise ValueError(f'bad kernel list {key}{text!r} in block string {block!r}') from None
    if not kernels or any(k < 1 or k % 2 == 0 for k in kernels):
        raise ValueError(f'kernels must be odd and positive: {key}{text} in block string {block!r}')
    return kernels


def _number(text: str, key: str, block: str, kind=int):
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f'bad value {key}{text!r} in block string {block!r}') from None
    if value <= 0:
        raise ValueError(f'{key} must be positive in block string {block!r}')
    return value


def decode_block(block: str) -> BlockSpec:
    """Decode one block string into a :class:`BlockSpec`."""
    if not isinstance(block, str):
        raise ValueError(f'block must be a string, got {block!r}')
    block_type, *tokens = block.split('_')
    if block_type not in BLOCK_TYPES:
        raise ValueError(f'unknown block type {block_type!r} in {block!r}; expected one of {BLOCK_TYPES}')
    fields: dict[str, str] = {}
    for token in tokens:
        match = _TOKEN.match(token)
        flag = token in ('nsw', 'nre', 'noskip')
        if match is None or (match.group(1) in ('nsw', 'nre', 'noskip') and not flag):
            raise ValueError(f'unknown key {token!r} in block string {block!r}; known keys: {BLOCK_KEYS}')
        key, value = match.groups()
        if key in fields:
            raise ValueError(f'key {key!r} given twice in block string {block!r}')
        fields[key] = value
    for required in ('k', 'c'):
        if required not in fields:
            raise ValueError(f'block string {block!r} lacks the required key {required!r}')
    if 'nsw' in fields and 'nre' in fields:
        raise ValueError(f'block string {block!r} asks for both Swish and ReLU')
    stride_text = fields.get('s', '1')
    if len(stride_text) == 2 and stride_text[0] == stride_text[1]:
        stride_text = stride_text[0]  # TF's 's22'
    spec = BlockSpec(
        block_type=block_type,
        repeats=_number(fields.get('r', '1'), 'r', block),
        dw_kernels=_kernels(fields['k'], 'k', block),
        exp_kernels=_kernels(fields.get('a', '1'), 'a', block),
        pw_kernels=_kernels(fields.get('p', '1'), 'p', block),
        stride=_number(stride_text, 's', block),
        exp_ratio=_number(fields.get('e', '1'), 'e', block, float),
        out_channels=_number(fields['c'], 'c', block),
        se_ratio=_number(fields['se'], 'se', block, float) if 'se' in fields else 0.0,
        swish='nsw' in fields,
        skip='noskip' not in fields,
    )
    if any(k != 1 for k in spec.exp_kernels + spec.pw_kernels):
        raise ValueError(f'only 1x1 expansion/projection kernels are supported, got {block!r}')
    if block_type == 'ds' and (spec.exp_ratio != 1 or 'a' in fields):
        raise ValueError(f'a ds block has no expansion (e1, no a): {block!r}')
    return spec


def decode_arch(arch: dict) -> ArchSpec:
    """Decode an arch dict (keys ``ARCH_KEYS``, see :mod:`mixdet.archs.mixnet`) into an :class:`ArchSpec`."""
    if not isinstance(arch, dict):
        raise ValueError(f'arch must be a dict with keys {ARCH_KEYS}, got {arch!r}')
    unknown = set(arch) - set(ARCH_KEYS)
    missing = set(ARCH_KEYS) - set(arch)
    if unknown or missing:
        raise ValueError(f'arch keys must be exactly {ARCH_KEYS}; unknown: {sorted(unknown)}, '
                         f'missing: {sorted(missing)}')
    stages = arch['stages']
    if isinstance(stages, str) or not stages or any(isinstance(s, str) or not s for s in stages):
        raise ValueError(f'arch stages must be a non-empty list of non-empty lists of block strings, got {stages!r}')
    if not isinstance(arch['width'], (int, float)) or arch['width'] <= 0:
        raise ValueError(f"arch width must be a positive number, got {arch['width']!r}")
    for key in ('stem_channels', 'head_channels'):
        if not isinstance(arch[key], int) or arch[key] < 1:
            raise ValueError(f'arch {key} must be a positive int, got {arch[key]!r}')
    return ArchSpec(
        stem_channels=arch['stem_channels'],
        head_channels=arch['head_channels'],
        width=float(arch['width']),
        stages=tuple(tuple(decode_block(b) for b in stage) for stage in stages),
    )
