"""mixdet.ops.geometry is the one padding rule: its 'same' pads give TensorFlow's output sizes (the entry points
that check a padding: tests/test_layers/test_padding.py)."""
import pytest
import torch
import torch.nn.functional as F

from mixdet.ops.geometry import conv_padding, op_pads, output_size, same_pads


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
