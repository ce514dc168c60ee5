"""The arch-table decoder is pure and strict."""
import pytest
from mmdet.models.utils import make_divisible as mmdet_make_divisible

from mixdet.archs import CHANNEL_DIVISOR, MIXNET_ARCHS, BlockSpec, decode_arch, decode_block, make_divisible


def test_decodes_every_key():
    spec = decode_block('ir_r3_k3.5.7_a1.1_p1.1_s2_e6_c40_se0.5_nsw')
    assert spec == BlockSpec(block_type='ir', repeats=3, dw_kernels=(3, 5, 7), exp_kernels=(1, 1), pw_kernels=(1, 1),
                             stride=2, exp_ratio=6.0, out_channels=40, se_ratio=0.5, swish=True, skip=True)


def test_defaults_and_tf_stride():
    spec = decode_block('ds_k3_c16_s22_noskip')
    assert (spec.repeats, spec.stride, spec.exp_kernels, spec.pw_kernels, spec.se_ratio, spec.swish, spec.skip) == \
        (1, 2, (1, ), (1, ), 0.0, False, False)


@pytest.mark.parametrize('block,match', [
    ('xx_k3_c16', "unknown block type 'xx'"),
    ('ir_k3_c16_q4', "unknown key 'q4'"),
    ('ir_k3_c16_nswx', "unknown key 'nswx'"),
    ('ir_k3_k5_c16', "key 'k' given twice"),
    ('ir_k3_e6', "lacks the required key 'c'"),
    ('ir_k4_c16', 'kernels must be odd'),
    ('ir_k3.x_c16', 'bad kernel list'),
    ('ir_k3_c16_r0', 'r must be positive'),
    ('ir_k3_c16_a3', 'only 1x1 expansion'),
    ('ds_k3_c16_e6', 'ds block has no expansion'),
    ('ir_k3_c16_nsw_nre', 'both Swish and ReLU'),
])
def test_rejects_bad_block_strings(block, match):
    with pytest.raises(ValueError, match=match):
        decode_block(block)


def test_rejects_bad_arch_dicts():
    good = dict(MIXNET_ARCHS['s'])
    with pytest.raises(ValueError, match=r"unknown: \['depth'\]"):
        decode_arch({**good, 'depth': 2})
    with pytest.raises(ValueError, match=r"missing: \['stages'\]"):
        decode_arch({k: v for k, v in good.items() if k != 'stages'})
    with pytest.raises(ValueError, match='non-empty list'):
        decode_arch({**good, 'stages': 'ir_k3_c16'})
    with pytest.raises(ValueError, match='width must be a positive'):
        decode_arch({**good, 'width': 0})


def test_decoder_does_not_mutate_its_input():
    arch = {k: (list(map(list, v)) if k == 'stages' else v) for k, v in MIXNET_ARCHS['m'].items()}
    before = repr(arch)
    decode_arch(arch)
    assert repr(arch) == before


def test_make_divisible_matches_mixnet_l_widths():
    """make_divisible with mixdet's divisor rounds as timm (MixNet-L: width 1.3)."""
    rounded = [make_divisible(c * 1.3, CHANNEL_DIVISOR) for c in (24, 32, 40, 80, 120, 200)]
    assert rounded == [32, 40, 56, 104, 160, 264]
    assert make_divisible(3, CHANNEL_DIVISOR) == 8 and make_divisible(10.1, CHANNEL_DIVISOR) == 16  # never -10%


def test_make_divisible_is_mmdets_rule():
    """mixdet.archs keeps its own copy (no OpenMMLab import); it rounds as mmdet's on every width it may meet."""
    for value in [v / 10 for v in range(1, 40000, 7)]:
        for divisor in (1, 4, 8, 16):
            assert make_divisible(value, divisor) == mmdet_make_divisible(value, divisor), (value, divisor)
