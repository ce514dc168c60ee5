"""mixdet.ops.geometry is the one padding rule: every entry point refuses a bad padding with its sentence, and the
forward paths pad as it says."""
import pytest
import torch
import torch.nn.functional as F

from mixdet.layers import DepthwiseConv2d, MixedConv2d, PaddedConv2d
from mixdet.ops import mixconv2d, mixconv2d_reference
from mixdet.ops.geometry import PADDING_MODES, conv_padding, op_pads, output_size, same_pads

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


@pytest.mark.parametrize('size', [6, 7, 9, 10])
@pytest.mark.parametrize('kernel, stride', [(1, 2), (3, 1), (3, 2), (5, 2), (7, 1)])
def test_same_pads_give_tensorflows_output_size_and_op_pads_their_top_left(size, kernel, stride):
    left, right, top, bottom = same_pads(size, size + 1, kernel, stride, 1)
    x = F.pad(torch.zeros(1, 1, size, size + 1), (left, right, top, bottom))
    out = F.conv2d(x, torch.zeros(1, 1, kernel, kernel), stride=stride, padding=conv_padding(kernel, 'same', 1))
    assert tuple(out.shape[-2:]) == (-(-size // stride), -(-(size + 1) // stride))
    assert out.shape[-2] == output_size(size, kernel, stride, 'same', 1)
    assert op_pads([kernel], stride, 'same', 1, size, size + 1) == [top, left]
    assert bottom - top in (0, 1) and right - left in (0, 1)  # an odd pad goes after, as TF
