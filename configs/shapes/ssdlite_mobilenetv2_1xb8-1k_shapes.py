# The shapes demo with mmdet's MobileNetV2 as the backbone, taps at strides 8, 16 and 32 (layer3, layer5,
# conv2: 32, 96 and 1280 channels): the plain side of the MixConv drop-in toy comparison
# (docs/mixconv-drop-in.md). Neck and head widths follow the backbone (SSDLiteDetector).
_base_ = './ssdlite_mixnet-s_1xb8-1k_shapes.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        out_indices=(2, 4, 7),
        norm_cfg={{_base_.norm_cfg}},
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03)))
