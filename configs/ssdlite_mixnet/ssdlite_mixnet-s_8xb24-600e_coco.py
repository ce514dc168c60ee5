# SSDLite-MixNet-S on COCO 2017 at 320x320: 8 GPUs x 24 images, 120 epochs x RepeatDataset(5) = 600e.
_base_ = [
    '../_base_/models/ssdlite_mixnet-s.py',
    '../_base_/datasets/coco_detection_ssdlite320.py',
    '../_base_/schedules/schedule_ssdlite_600e.py',
    '../_base_/default_runtime.py',
]
custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'),
]
