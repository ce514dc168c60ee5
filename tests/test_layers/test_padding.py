"""Every entry point that takes a padding (the op, its reference, the three layers) refuses a bad one with the one
sentence of mixdet.ops.geometry.check_padding."""
import pytest
import torch

from mixdet.layers import DepthwiseConv2d, MixedConv2d, PaddedConv2d
from mixdet.ops import mixconv2d, mixconv2d_reference
from mixdet.ops.geometry import PADDING_MODES

REFUSAL = f"padding must be one of {PADDING_MODES}, got 'valid'"


@pytest.mark.parametrize('build', [
    lambda: mixconv2d(torch.zeros(1, 2, 5, 5), [torch.zeros(2, 1, 3, 3)], padding='valid'),
    lambda: mixconv2d_reference(torch.zeros(1, 2, 5, 5), [torch.zeros(2, 1, 3, 3)], padding='valid'),
    lambda: MixedConv2d(4, [3, 5], padding='valid'),
    lambda: DepthwiseConv2d(4, 3, padding='valid'),
    lambda: PaddedConv2d(3, 4, 3, padding='valid'),
], ids=['mixconv2d', 'reference', 'MixedConv2d', 'DepthwiseConv2d', 'PaddedConv2d'])
def test_every_entry_point_refuses_a_bad_padding_with_the_same_sentence(build):
    with pytest.raises(ValueError) as error:
        build()
    assert str(error.value) == REFUSAL
