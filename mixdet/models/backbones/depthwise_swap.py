"""Find the depthwise convolutions of a backbone and swap them for MixConv (Tan & Le, BMVC 2019, arXiv 1907.09595).

A depthwise convolution is an ``nn.Conv2d`` with ``groups == in_channels == out_channels``. It is replaced by a
:class:`MixedConv2d` over the same channels (split by the TF rule), with the same stride and padding convention:
plain ``nn.Conv2d`` with padding ``k // 2`` -> 'symmetric', mmcv's ``Conv2dAdaptivePadding`` -> TF 'same'.
Whatever else (dilation, bias, even or non-square kernels, other padding, other conv classes) is refused with
one sentence naming the layer, since the swap could not keep it.
"""
from __future__ import annotations

from typing import Iterator, Sequence, Union

from mmcv.cnn.bricks import Conv2dAdaptivePadding
from torch import nn

from mixdet.layers import MixedConv2d

# layers= keyword -> the stride it selects (None: every stride).
LAYER_SETS = {'all': None, 'stride1': 1, 'stride2': 2}
Layers = Union[str, Sequence[str]]


def is_depthwise(module: nn.Module) -> bool:
    return isinstance(module, nn.Conv2d) and module.groups == module.in_channels == module.out_channels


def find_depthwise(module: nn.Module, prefix: str = '') -> Iterator[tuple[str, nn.Conv2d]]:
    """(name, conv) of every depthwise conv below ``module`` in module order; MixedConv2d subtrees are skipped."""
    for name, child in module.named_children():
        if isinstance(child, MixedConv2d):
            continue
        if is_depthwise(child):
            yield prefix + name, child
        else:
            yield from find_depthwise(child, f'{prefix}{name}.')


def check_kernel_sizes(kernel_sizes: Sequence[int]) -> tuple[int, ...]:
    if isinstance(kernel_sizes, (int, str)) or not kernel_sizes \
            or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0 for k in kernel_sizes):
        raise ValueError(f'kernel_sizes must be a non-empty sequence of odd positive ints, got {kernel_sizes!r}')
    return tuple(kernel_sizes)


def select_depthwise(backbone: nn.Module, layers: Layers) -> list[tuple[str, nn.Conv2d]]:
    """The depthwise convs chosen by ``layers``: 'all', 'stride1', 'stride2' or a list of module names."""
    convs = list(find_depthwise(backbone))
    if isinstance(layers, str):
        if layers not in LAYER_SETS:
            raise ValueError(f'layers must be one of {tuple(LAYER_SETS)} or a list of module names, got {layers!r}')
        stride = LAYER_SETS[layers]
        chosen = [(n, c) for n, c in convs if stride is None or c.stride[0] == stride]
    else:
        by_name = dict(convs)
        if not isinstance(layers, (list, tuple)) or not layers or not all(isinstance(n, str) for n in layers) \
                or len(set(layers)) != len(layers):
            raise ValueError(f'layers must be one of {tuple(LAYER_SETS)} or a non-empty list of distinct module '
                             f'names, got {layers!r}')
        unknown = [n for n in layers if n not in by_name]
        if unknown:
            raise ValueError(f'layers entry {unknown[0]!r} is not a depthwise conv of {type(backbone).__name__} '
                             f'(its depthwise convs: {list(by_name)[:3]} ... {len(by_name)} in all)')
        chosen = [(n, c) for n, c in convs if n in layers]
    if not chosen:
        raise ValueError(f'layers={layers!r} selects no depthwise conv of {type(backbone).__name__}')
    return chosen


def padding_of(name: str, conv: nn.Conv2d) -> str:
    """The MixConv padding convention that reproduces ``conv``, or ValueError saying why none does."""
    k = conv.kernel_size[0]
    if conv.kernel_size != (k, k) or k % 2 == 0:
        raise ValueError(f'{name} has kernel {conv.kernel_size}; MixConv needs a square odd kernel')
    if conv.stride[0] != conv.stride[1]:
        raise ValueError(f'{name} has stride {conv.stride}; MixConv needs the same stride on both axes')
    if conv.dilation != (1, 1):
        raise ValueError(f'{name} has dilation {conv.dilation}; MixConv drop-in keeps dilation 1 only')
    if conv.bias is not None:
        raise ValueError(f'{name} has a bias, which MixedConv2d does not have')
    if type(conv) is Conv2dAdaptivePadding:
        return 'same'
    if type(conv) is nn.Conv2d and conv.padding == (k // 2, k // 2) and conv.padding_mode == 'zeros':
        return 'symmetric'
    raise ValueError(f'{name} is a {type(conv).__name__} with padding {conv.padding} ({conv.padding_mode}); '
                     f'MixConv keeps zero padding k // 2 of nn.Conv2d or the TF padding of Conv2dAdaptivePadding')


def swap_depthwise(backbone: nn.Module, kernel_sizes: Sequence[int], layers: Layers) -> dict[str, int]:
    """Replace the depthwise convs chosen by ``layers`` with :class:`MixedConv2d` in place.

    Each replacement keeps the conv's channels, stride, padding convention, device, dtype, train mode and
    ``requires_grad`` (so stages a backbone froze at build time stay frozen). All layers are checked before
    any is replaced. Returns {module name: original kernel size}.
    """
    chosen = select_depthwise(backbone, layers)
    paddings = [padding_of(name, conv) for name, conv in chosen]
    for name, conv in chosen:
        if conv.in_channels < len(kernel_sizes):
            raise ValueError(f'{name} has {conv.in_channels} channels, fewer than the {len(kernel_sizes)} '
                             f'kernel_sizes {tuple(kernel_sizes)}')
    replaced = {}
    for (name, conv), padding in zip(chosen, paddings):
        mixed = MixedConv2d(conv.in_channels, kernel_sizes, conv.stride[0], padding).to(conv.weight)
        mixed.train(conv.training).requires_grad_(conv.weight.requires_grad)
        parent, _, attr = name.rpartition('.')
        setattr(backbone.get_submodule(parent), attr, mixed)
        replaced[name] = conv.kernel_size[0]
    return replaced
