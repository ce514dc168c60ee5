# A bare MixNet-S backbone (all taps up to the head), e.g. for tools/analysis_tools/get_flops.py.
_base_ = '../mixdet_runtime.py'
default_scope = 'mmdet'
model = dict(type='MixNet', arch='s', out_indices=(2, 4, 5, 6))
