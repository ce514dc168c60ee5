"""The pure-PyTorch MixConv reference against an independent float64 oracle, and its argument checks."""
import pytest
import torch
import torch.nn.functional as F

from mixdet.ops import mixconv2d, mixconv2d_reference, same_padding, split_channels


def padded_kernel_oracle(x, weights, stride, padding):
    """One depthwise conv whose kernels are zero-padded (centred) to the largest size: no split, no cat."""
    k_max = max(w.shape[-1] for w in weights)
    big = torch.cat([F.pad(w, [(k_max - w.shape[-1]) // 2] * 4) for w in weights])
    if padding == 'same':
        (top, bottom), (left, right) = (same_padding(s, k_max, stride, 1) for s in x.shape[-2:])
        return F.conv2d(F.pad(x, (left, right, top, bottom)), big, stride=stride, groups=x.shape[1])
    return F.conv2d(x, big, stride=stride, padding=k_max // 2, groups=x.shape[1])


def test_split_channels_follows_tf_rule():
    assert split_channels(10, 3) == [4, 3, 3]
    assert split_channels(720, 5) == [144] * 5
    assert split_channels(7, 1) == [7]
    with pytest.raises(ValueError, match='3 channels into 4'):
        split_channels(3, 4)
    with pytest.raises(ValueError, match='num_groups'):
        split_channels(8, 0)


@pytest.mark.parametrize('size,kernel,stride,expected', [
    (224, 3, 2, (0, 1)), (224, 5, 2, (1, 2)), (224, 11, 2, (4, 5)), (15, 3, 2, (1, 1)), (7, 5, 1, (2, 2)),
    (17, 7, 2, (3, 3)), (10, 3, 1, (1, 1)),
])
def test_same_padding_matches_tensorflow(size, kernel, stride, expected):
    assert same_padding(size, kernel, stride, 1) == expected


@pytest.mark.parametrize('kernels', [[3], [3, 5], [3, 5, 7], [3, 5, 7, 9, 11]])
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('padding', ['symmetric', 'same'])
@pytest.mark.parametrize('size', [7, 15, 16, 17])
def test_reference_matches_float64_oracle(kernels, stride, padding, size):
    gen = torch.Generator().manual_seed(size * 10 + stride)
    channels = 3 * len(kernels) + 1  # uneven split: the remainder goes to group 0
    splits = split_channels(channels, len(kernels))
    x = torch.randn(2, channels, size, size + 2, dtype=torch.float64, generator=gen)
    weights = [torch.randn(c, 1, k, k, dtype=torch.float64, generator=gen) for c, k in zip(splits, kernels)]
    out = mixconv2d_reference(x, weights, stride=stride, padding=padding)
    expected = padded_kernel_oracle(x, weights, stride, padding)
    assert out.shape == (2, channels, -(-size // stride), -(-(size + 2) // stride))
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


def test_same_and_symmetric_differ_at_stride_two_on_even_input():
    x = torch.randn(1, 4, 8, 8, dtype=torch.float64)
    w = [torch.randn(4, 1, 3, 3, dtype=torch.float64)]
    assert not torch.allclose(mixconv2d_reference(x, w, stride=2, padding='same'),
                              mixconv2d_reference(x, w, stride=2, padding='symmetric'))


def test_bias_and_channels_last_are_kept():
    x = torch.randn(2, 6, 9, 9).contiguous(memory_format=torch.channels_last)
    weights = [torch.randn(3, 1, 3, 3), torch.randn(3, 1, 5, 5)]
    bias = torch.randn(6)
    out = mixconv2d(x, weights, bias)
    assert out.is_contiguous(memory_format=torch.channels_last)
    expected = mixconv2d(x.contiguous(), weights) + bias.view(1, -1, 1, 1)
    torch.testing.assert_close(out, expected)


def test_gradients_reach_every_kernel():
    x = torch.randn(1, 5, 7, 7, dtype=torch.float64, requires_grad=True)
    weights = [torch.randn(3, 1, 3, 3, dtype=torch.float64, requires_grad=True),
               torch.randn(2, 1, 5, 5, dtype=torch.float64, requires_grad=True)]
    assert torch.autograd.gradcheck(lambda x, a, b: mixconv2d_reference(x, [a, b], stride=2, padding='same'),
                                    (x, *weights))


W = [torch.randn(2, 1, 3, 3), torch.randn(2, 1, 5, 5)]


@pytest.mark.parametrize('args,error,match', [
    ((torch.randn(4, 8, 8), W), ValueError, r'4-D.*\(4, 8, 8\)'),
    ((torch.randn(1, 5, 8, 8), W), ValueError, 'cover 4 channels.*input has 5'),
    ((torch.randn(1, 4, 8, 8), [torch.randn(4, 1, 4, 4)]), ValueError, 'even kernel size 4'),
    ((torch.randn(1, 4, 8, 8), [torch.randn(4, 2, 3, 3)]), ValueError, r'weights\[0\].*\(4, 2, 3, 3\)'),
    ((torch.randn(1, 4, 8, 8, dtype=torch.float64), W), TypeError, 'float32 but input has dtype torch.float64'),
    ((torch.randn(1, 4, 8, 8), []), ValueError, 'at least one kernel'),
    ((torch.randn(1, 4, 8, 8), torch.randn(4, 1, 3, 3)), TypeError, 'list or tuple'),
    ((torch.ones(1, 4, 8, 8, dtype=torch.int64), W), TypeError, 'floating point'),
])
def test_bad_input_is_named(args, error, match):
    with pytest.raises(error, match=match):
        mixconv2d(*args)


@pytest.mark.parametrize('kwargs,match', [
    (dict(stride=0), 'stride must be a positive int, got 0'),
    (dict(stride=1.5), 'stride must be a positive int, got 1.5'),
    (dict(dilation=-1), 'dilation must be a positive int, got -1'),
    (dict(padding='valid'), "padding must be one of .* got 'valid'"),
    (dict(bias=torch.randn(3)), r'bias must have shape \(4,\), got \(3,\)'),
])
def test_bad_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mixconv2d(torch.randn(1, 4, 8, 8), W, **kwargs)


def test_device_mismatch_is_named():
    with pytest.raises(ValueError, match=r'weights\[1\] is on meta but input is on cpu'):
        mixconv2d(torch.randn(1, 4, 8, 8), [W[0], W[1].to('meta')])
