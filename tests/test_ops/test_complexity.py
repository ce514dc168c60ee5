"""The multiply-add count of the fused MixConv op (its registered FLOP formula) equals that of split/conv/cat."""
import torch
from torch.utils.flop_counter import FlopCounterMode

import mixdet.ops.complexity  # noqa: F401  (registers the formula)
from mixdet.ops import mixconv2d, split_channels


def flops(x, weights, impl):
    with FlopCounterMode(display=False) as counter:
        mixconv2d(x, weights, None, 2, 'same', impl=impl)
    return counter.get_total_flops()


def test_fused_op_counts_the_flops_of_split_conv_cat():
    x = torch.randn(2, 10, 9, 9)
    weights = [torch.randn(c, 1, k, k) for c, k in zip(split_channels(10, 3), (3, 5, 7))]  # 4, 3, 3 channels
    expected = 2 * 2 * 5 * 5 * (4 * 3 * 3 + 3 * 5 * 5 + 3 * 7 * 7)  # 2 FLOPs per multiply-add, 5x5 outputs
    assert flops(x, weights, 'fused') == flops(x, weights, 'reference') == expected
