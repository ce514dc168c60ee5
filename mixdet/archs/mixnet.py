"""MixNet-S/M/L architectures as data (Tan & Le, BMVC 2019; TF reference ``mixnet_builder.py``).

Each arch is a dict decoded by :func:`mixdet.archs.decode.decode_arch`:

* ``stem_channels``: width of the 3x3 stride-2 stem conv before width scaling.
* ``head_channels``: width of the final 1x1 conv (not scaled, as in the TF reference).
* ``width``: channel multiplier applied to stem and blocks (round to multiples of 8, never down by > 10%).
* ``stages``: one list of block strings per stage, in timm's grammar (see :data:`mixdet.archs.decode.BLOCK_KEYS`).

MixNet-L is MixNet-M at width 1.3 (TF ``mixnet_l`` calls ``mixnet_m(1.3)``).
"""

MIXNET_S_STAGES = (
    ('ds_r1_k3_s1_e1_c16', ),
    ('ir_r1_k3_a1.1_p1.1_s2_e6_c24', 'ir_r1_k3_a1.1_p1.1_s1_e3_c24'),
    ('ir_r1_k3.5.7_s2_e6_c40_se0.5_nsw', 'ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw'),
    ('ir_r1_k3.5.7_p1.1_s2_e6_c80_se0.25_nsw', 'ir_r2_k3.5_p1.1_s1_e6_c80_se0.25_nsw'),
    ('ir_r1_k3.5.7_a1.1_p1.1_s1_e6_c120_se0.5_nsw', 'ir_r2_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw'),
    ('ir_r1_k3.5.7.9.11_s2_e6_c200_se0.5_nsw', 'ir_r2_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw'),
)

MIXNET_M_STAGES = (
    ('ds_r1_k3_s1_e1_c24', ),
    ('ir_r1_k3.5.7_a1.1_p1.1_s2_e6_c32', 'ir_r1_k3_a1.1_p1.1_s1_e3_c32'),
    ('ir_r1_k3.5.7.9_s2_e6_c40_se0.5_nsw', 'ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw'),
    ('ir_r1_k3.5.7_s2_e6_c80_se0.25_nsw', 'ir_r3_k3.5.7.9_a1.1_p1.1_s1_e6_c80_se0.25_nsw'),
    ('ir_r1_k3_s1_e6_c120_se0.5_nsw', 'ir_r3_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw'),
    ('ir_r1_k3.5.7.9_s2_e6_c200_se0.5_nsw', 'ir_r3_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw'),
)

MIXNET_ARCHS = {
    's': dict(stem_channels=16, head_channels=1536, width=1.0, stages=MIXNET_S_STAGES),
    'm': dict(stem_channels=24, head_channels=1536, width=1.0, stages=MIXNET_M_STAGES),
    'l': dict(stem_channels=24, head_channels=1536, width=1.3, stages=MIXNET_M_STAGES),
}
