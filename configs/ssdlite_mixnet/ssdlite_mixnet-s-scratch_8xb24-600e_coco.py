# SSDLite-MixNet-S from scratch: mmdet's SSDLite-MobileNetV2 COCO recipe with the backbone swapped. The first
# level is the stride-16 expansion of stage 5's first block (720 ch), where the MobileNetV2 paper attaches
# SSDLite; the second the 1536-ch head conv at stride 32. Widths left as None follow the backbone's taps
# (SSDLiteDetector), so another backbone is one change.
_base_ = './ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'

model = dict(
    type='SSDLiteDetector',
    backbone=dict(
        _delete_=True,
        type='MixNet',
        arch='s',
        out_indices=('stage5_expansion', 6),
        norm_cfg={{_base_.model.backbone.norm_cfg}},
        init_cfg={{_base_.model.backbone.init_cfg}}),
    neck=dict(in_channels=None, out_channels=(None, None, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=None))
