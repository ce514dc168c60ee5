# Reference baseline: mmdet's MobileNetV2 (96 ch at stride 16, 1280-ch conv2 at stride 32) with the same
# neck, head, data and schedule as the SSDLite-MixNet configs: only the backbone differs.
_base_ = './ssdlite_mixnet-s_8xb24-600e_coco.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        out_indices=(4, 7),
        norm_cfg={{_base_.norm_cfg}},
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03)))
