"""MixConv as a drop-in for the depthwise convolutions of any backbone, by config.

The MixConv paper (Tan & Le, BMVC 2019, arXiv 1907.09595, Figures 1 and 4) replaces the depthwise convs of
MobileNet V1/V2 with MixConv of kernels {3}, {3, 5}, {3, 5, 7}, ...; :class:`MixConvBackbone` does that to
any registered backbone::

    backbone=dict(type='MixConvBackbone', backbone=dict(type='MobileNetV2', out_indices=(4, 7)),
                  kernel_sizes=(3, 5, 7), layers='all')
"""
from __future__ import annotations

import copy
from functools import partial
from typing import Optional, Sequence, Union

import torch
from torch import nn

from mixdet.checkpoint import load_pretrained
from mixdet.registry import MODELS

from .depthwise_swap import Layers, check_kernel_sizes, swap_depthwise
from .kernel_embed import embed_depthwise_state


@MODELS.register_module()
class MixConvBackbone(nn.Module):
    """A backbone whose depthwise ``nn.Conv2d`` layers are :class:`MixedConv2d` (run by the fused ``mixconv2d``).

    Args:
        backbone: config of the inner backbone (any registered backbone, e.g. mmdet's ``MobileNetV2``).
        kernel_sizes: MixConv kernels; channels split by the TF rule (remainder to the first group).
        layers: which depthwise convs to replace: 'all', 'stride1', 'stride2', or a list of module names of the
            inner backbone (MobileNetV2: ``['layer2.0.depthwise_conv.conv']``), as in the paper's per-layer study.
        out_indices, frozen_stages, norm_eval, init_cfg: when given, set in the inner backbone's config
            (overriding it there); None keeps the inner config's value.

    Any attribute the wrapper lacks is read from the inner backbone (``out_indices``, ``frozen_stages``,
    ``norm_eval``, ``init_cfg``, ``layers``, ...), and ``train()`` reaches the inner backbone's own ``train``
    (frozen stages, ``norm_eval``). :attr:`replaced` maps each replaced layer to its original kernel size.
    Forward: [N, 3, H, W] -> the inner backbone's outputs, same shapes.

    ``init_weights``: the inner backbone's own, except that ``Pretrained`` weights of the *plain* inner
    backbone load strictly with each depthwise kernel centre-embedded into the MixConv groups
    (:mod:`.kernel_embed`), so that the wrapped network starts as exactly the pretrained function.
    """

    def __init__(self, backbone: dict, kernel_sizes: Sequence[int] = (3, 5, 7), layers: Layers = 'all',
                 out_indices: Optional[Sequence] = None, frozen_stages: Optional[int] = None,
                 norm_eval: Optional[bool] = None, init_cfg: Optional[Union[dict, list]] = None):
        super().__init__()
        self.kernel_sizes = check_kernel_sizes(kernel_sizes)
        backbone = copy.deepcopy(backbone)
        forwarded = dict(out_indices=out_indices, frozen_stages=frozen_stages, norm_eval=norm_eval,
                         init_cfg=init_cfg)
        backbone.update({key: value for key, value in forwarded.items() if value is not None})
        self.backbone = MODELS.build(backbone)
        self.replaced = swap_depthwise(self.backbone, self.kernel_sizes, layers)

    def __getattr__(self, name: str):
        """Parameters, buffers and submodules as nn.Module; anything else from the inner backbone."""
        try:
            return super().__getattr__(name)
        except AttributeError:
            inner = self.__dict__.get('_modules', {}).get('backbone')
            if inner is None or name.startswith('__'):
                raise
            return getattr(inner, name)

    def forward(self, x: torch.Tensor):
        return self.backbone(x)

    def init_weights(self) -> None:
        """The inner backbone's init_cfg; ``Pretrained``: strict load with centre-embedded depthwise kernels."""
        init_cfg = getattr(self.backbone, 'init_cfg', None)
        cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg]
        pretrained = [c for c in cfgs if isinstance(c, dict) and c.get('type') == 'Pretrained']
        if not pretrained:
            if hasattr(self.backbone, 'init_weights'):
                self.backbone.init_weights()
            return
        # As mmengine, the last Pretrained wins; loaded strictly, it sets every tensor, so other entries are moot.
        checkpoint = pretrained[-1]['checkpoint']
        load_pretrained(self.backbone, checkpoint, pretrained[-1].get('prefix'),
                        convert=partial(embed_depthwise_state, backbone=self.backbone, replaced=self.replaced,
                                        source=checkpoint))
        self.backbone._is_init = True
