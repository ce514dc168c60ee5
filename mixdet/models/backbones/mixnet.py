"""MixNet-S/M/L backbone for MMDetection (Tan & Le, "MixConv", BMVC 2019, arXiv 1907.09595).

Module names and state_dict keys follow timm's ``mixnet_*`` (``conv_stem``, ``bn1``,
``blocks.{stage}.{block}.*``, ``conv_head``, ``bn2``) so timm's checkpoints load as they
are (their ``classifier.*`` is dropped), by path or URL; ``tools/model_converters/convert_timm_mixnet.py``
converts them offline.
"""
from __future__ import annotations

from functools import lru_cache, partial
from typing import Sequence, Union

import torch
from mmcv.cnn import build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

from mixdet.archs import CHANNEL_DIVISOR, MIXNET_ARCHS, ArchSpec, decode_arch, make_divisible
from mixdet.checkpoint import load_pretrained
from mixdet.layers import DepthwiseSeparableBlock, InvertedResidualBlock, PaddedConv2d
from mixdet.registry import MODELS

Tap = Union[int, str]
TIMM_CLASSIFIER = 'classifier.'  # timm's ImageNet FC, dropped when loading timm checkpoints


@MODELS.register_module()
class MixNet(BaseModule):
    """MixNet backbone: stem, six block stages, 1x1 head conv.

    Taps selectable by ``out_indices`` (channels/strides for S, input 320 -> spatial = 320 / stride):

    ========================  ===========================================  ==================
    tap                       what                                          S / M / L channels
    ========================  ===========================================  ==================
    ``0`` .. ``5``            output of block stage i (strides 2,4,8,16,16,32)  see ``tap_channels``
    ``'stage5_expansion'``    expansion (1x1 + BN + act) of stage 5's first    720 / 720 / 960
                              block, stride 16: where the MobileNetV2 paper
                              attaches SSDLite
    ``6``                     1x1 head conv + BN + ReLU, stride 32           1536
    ========================  ===========================================  ==================

    ``forward`` returns the selected taps as a tuple in network order (stage0 ... stage4,
    stage5_expansion, stage5, head), whatever the order in ``out_indices``;
    :attr:`out_channels` and :attr:`out_strides` list them in that order.

    Args:
        arch: 's', 'm', 'l', or an arch dict (see :mod:`mixdet.archs.mixnet`).
        widen_factor: extra channel multiplier on top of the arch's width (head excluded).
        out_indices: taps to return (see table).
        frozen_stages: -1 freezes nothing, 0 the stem, k > 0 the stem and stages 0..k-1.
        norm_eval: keep every BatchNorm in eval mode while training.
        with_cp: gradient checkpointing of each block (saves memory, costs time).
        norm_cfg: mmcv norm config; timm ``mixnet_*`` uses eps 1e-5, ``tf_mixnet_*`` eps 1e-3.
        padding: 'symmetric' (timm ``mixnet_*``) or 'same' (TF reference, timm ``tf_mixnet_*``).
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained', checkpoint=...)``.

    ``Pretrained`` takes a local path or an ``http(s)://`` URL (downloaded once into
    ``torch.hub.get_dir()/checkpoints``), ``.pth`` or ``.safetensors``, of a mixdet checkpoint or
    of timm's own ``mixnet_*`` / ``tf_mixnet_*`` weights, e.g.
    ``https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/mixnet_s-a907afbc.pth``.
    Loading is strict: weights of another variant (``mixnet_m`` into ``arch='s'``) are an error naming
    the differing keys. ``tf_mixnet_*`` weights need ``padding='same'`` and
    ``norm_cfg=dict(type='BN', eps=1e-3)``; their keys and shapes equal ``mixnet_*``'s, so loading
    them into a symmetric-padding, eps 1e-5 backbone cannot be detected and silently gives other features.
    """

    EXPANSION_TAP = 'stage5_expansion'

    def __init__(self,
                 arch: Union[str, dict] = 's',
                 widen_factor: float = 1.0,
                 out_indices: Sequence[Tap] = (2, 4, 5),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 padding: str = 'symmetric',
                 init_cfg=(dict(type='Kaiming', layer='Conv2d'),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']))):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg)
        if isinstance(arch, str):
            if arch not in MIXNET_ARCHS:
                raise ValueError(f'arch must be one of {sorted(MIXNET_ARCHS)} or an arch dict, got {arch!r}')
            arch = MIXNET_ARCHS[arch]
        spec = decode_arch(arch)
        if not isinstance(widen_factor, (int, float)) or widen_factor <= 0:
            raise ValueError(f'widen_factor must be a positive number, got {widen_factor!r}')
        num_stages = len(spec.stages)
        if isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int) \
                or not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages must be in range(-1, {num_stages + 1}), got {frozen_stages!r}')
        self.head_index = num_stages
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self._build(spec, spec.width * widen_factor, norm_cfg, padding)
        self.out_indices = self._check_out_indices(out_indices)
        if self.head_index in self.out_indices:
            self._build_head(*self._head_spec)
        self.out_channels = tuple(self.tap_channels[t] for t in self.out_indices)
        self.out_strides = tuple(self.tap_strides[t] for t in self.out_indices)
        self._freeze_stages()

    # ----------------------------------------------------------------------------- build
    def _build(self, spec: ArchSpec, multiplier: float, norm_cfg: dict, padding: str) -> None:
        relu, swish = partial(nn.ReLU, inplace=True), partial(nn.SiLU, inplace=True)
        in_channels = make_divisible(spec.stem_channels * multiplier, CHANNEL_DIVISOR)
        stride = 2
        self.conv_stem = PaddedConv2d(3, in_channels, 3, stride=2, padding=padding)
        self.bn1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.act1 = relu()
        self.tap_channels: dict[Tap, int] = {}
        self.tap_strides: dict[Tap, int] = {}
        stages = []
        for stage_index, stage_spec in enumerate(spec.stages):
            blocks = []
            for block_spec in stage_spec:
                out_channels = make_divisible(block_spec.out_channels * multiplier, CHANNEL_DIVISOR)
                for repeat in range(block_spec.repeats):
                    block_stride = block_spec.stride if repeat == 0 else 1
                    act = swish if block_spec.swish else relu
                    se_channels = max(1, int(in_channels * block_spec.se_ratio + 0.5)) if block_spec.se_ratio else 0
                    common = dict(dw_kernels=block_spec.dw_kernels, stride=block_stride,
                                  pw_groups=len(block_spec.pw_kernels), se_channels=se_channels, act_layer=act,
                                  norm_cfg=norm_cfg, padding=padding, skip=block_spec.skip)
                    if block_spec.block_type == 'ds':
                        block = DepthwiseSeparableBlock(in_channels, out_channels, **common)
                    else:
                        mid_channels = make_divisible(in_channels * block_spec.exp_ratio, CHANNEL_DIVISOR)
                        block = InvertedResidualBlock(in_channels, out_channels, mid_channels,
                                                      exp_groups=len(block_spec.exp_kernels), **common)
                        if stage_index == len(spec.stages) - 1 and not blocks:
                            self.tap_channels[self.EXPANSION_TAP] = mid_channels
                            self.tap_strides[self.EXPANSION_TAP] = stride
                    blocks.append(block)
                    stride *= block_stride
                    in_channels = out_channels
            stages.append(nn.Sequential(*blocks))
            self.tap_channels[stage_index] = in_channels
            self.tap_strides[stage_index] = stride
        self.blocks = nn.Sequential(*stages)
        self._head_spec = (in_channels, spec.head_channels, norm_cfg, padding)
        self.tap_channels[self.head_index] = spec.head_channels
        self.tap_strides[self.head_index] = stride

    def _check_out_indices(self, out_indices: Sequence[Tap]) -> tuple[Tap, ...]:
        order = [*range(self.head_index - 1), self.EXPANSION_TAP, self.head_index - 1, self.head_index]
        if isinstance(out_indices, (int, str)) or not out_indices:
            raise ValueError(f'out_indices must be a non-empty sequence of taps from {order}, got {out_indices!r}')
        for tap in out_indices:
            if isinstance(tap, bool) or tap not in order:
                raise ValueError(f'out_indices entry {tap!r} is not a tap; valid taps: {order}')
        if len(set(out_indices)) != len(out_indices):
            raise ValueError(f'out_indices has duplicates: {out_indices!r}')
        if self.EXPANSION_TAP in out_indices and self.EXPANSION_TAP not in self.tap_channels:
            raise ValueError(f'{self.EXPANSION_TAP!r} needs the last stage to start with an inverted residual block')
        return tuple(t for t in order if t in out_indices)

    def _build_head(self, in_channels: int, head_channels: int, norm_cfg: dict, padding: str) -> None:
        """1x1 conv + BN + ReLU to ``head_channels``; built only when tap 6 is requested."""
        self.conv_head = PaddedConv2d(in_channels, head_channels, 1, padding=padding)
        self.bn2 = build_norm_layer(norm_cfg, head_channels)[1]
        self.act2 = nn.ReLU(inplace=True)

    # --------------------------------------------------------------------------- forward
    def _run(self, fn, x: torch.Tensor):
        if self.with_cp and x.requires_grad:
            return checkpoint(fn, x, use_reentrant=False)
        return fn(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """[N, 3, H, W] -> tuple of the taps in :attr:`out_indices`, [N, C_t, H / s_t, W / s_t]."""
        outs = []
        x = self.act1(self.bn1(self.conv_stem(x)))
        last_stage = len(self.blocks) - 1
        for stage_index, stage in enumerate(self.blocks):
            for block_index, block in enumerate(stage):
                if stage_index == last_stage and block_index == 0 and self.EXPANSION_TAP in self.out_indices:
                    x, expansion = self._run(block.forward_with_expansion, x)
                    outs.append(expansion)
                else:
                    x = self._run(block, x)
            if stage_index in self.out_indices:
                outs.append(x)
        if self.head_index in self.out_indices:
            outs.append(self.act2(self.bn2(self.conv_head(x))))
        return tuple(outs)

    # --------------------------------------------------------------- mmdet backbone API
    def init_weights(self) -> None:
        """``Pretrained`` weights load strictly (a checkpoint of another architecture is an error; timm's
        classifier, and the head when it is not built, are ignored); other ``init_cfg`` types as mmengine."""
        init_cfg = self.init_cfg
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            head = () if hasattr(self, 'conv_head') else ('conv_head.', 'bn2.')
            unused = load_pretrained(self, init_cfg['checkpoint'], init_cfg.get('prefix'),
                                     optional_prefixes=(TIMM_CLASSIFIER, *head))
            if unused:
                print_log(f'{init_cfg["checkpoint"]}: ignored {len(unused)} keys of parts not built ({unused[0]}, ...)',
                          logger='current')
            self._is_init = True
            return
        super().init_weights()

    # ------------------------------------------------------------- which variant a state_dict holds
    @staticmethod
    @lru_cache(maxsize=None)
    def state_shapes(arch: str) -> dict[str, tuple[int, ...]]:
        """{key: shape} of every tensor of MixNet-``arch`` (widen_factor 1) with its head built, timm's keys."""
        model = MixNet(arch=arch, out_indices=(6, ), init_cfg=None)
        return {key: tuple(value.shape) for key, value in model.state_dict().items()}

    @classmethod
    def variant_of(cls, state: dict, prefix: str = '') -> str | None:
        """'MixNet-S', '-M' or '-L' when the ``blocks.*`` tensors under ``prefix`` are exactly that variant's
        (widen_factor 1), else None; what strict loading says in words (:mod:`mixdet.checkpoint.state_dict`)."""
        shapes = {(key[len(prefix):], tuple(value.shape)) for key, value in state.items()
                  if key.startswith(prefix + 'blocks.') and hasattr(value, 'shape')}
        for arch in MIXNET_ARCHS:
            if shapes and shapes == {item for item in cls.state_shapes(arch).items() if item[0].startswith('blocks.')}:
                return f'MixNet-{arch.upper()}'
        return None

    def _freeze_stages(self) -> None:
        modules = []
        if self.frozen_stages >= 0:
            modules += [self.conv_stem, self.bn1]
        modules += list(self.blocks[:max(self.frozen_stages, 0)])
        for module in modules:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        """Set train mode, then re-freeze frozen stages and (with ``norm_eval``) put every BN in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
