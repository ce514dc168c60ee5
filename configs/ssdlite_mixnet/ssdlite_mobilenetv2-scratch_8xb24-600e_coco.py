# mmdet's SSDLite-MobileNetV2 COCO config (shipped in the mmdet package) with what mixdet changes, and nothing
# else: every config of this folder inherits it, so data, augmentation, anchors and schedule are mmdet's own.
# mmdet taps MobileNetV2 at the end of stage 4 (96 ch, stride 16) and at its last 1x1 conv (1280 ch, stride 32).
# mixdet's runtime fragment (configs/_base_/mixdet_runtime.py) adds its modules and MixdetRunner; what overrides
# mmdet's own runtime settings follows here.
_base_ = ['mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py', '../_base_/mixdet_runtime.py']

default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook', max_keep_ckpts=3, save_best='auto'))
# A collective that waits longer than this (a hung or stopped rank) ends the job instead of hanging it.
env_cfg = dict(dist_cfg=dict(timeout=1800))

# mmdet 3.3.0's SSDHead.predict_by_feat fails on its own outputs; MixdetSSDHead fixes that (mixdet/models).
model = dict(bbox_head=dict(type='MixdetSSDHead'))

# CocoDataset that names bad annotation files and counts what it skips (mixdet/datasets). drop_last: the 1x1
# last neck level cannot train BatchNorm on a final batch of one image.
dataset_type = 'CheckedCocoDataset'
train_dataloader = dict(drop_last=True, dataset=dict(dataset=dict(type=dataset_type)))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = val_dataloader
# CocoMetric that names a missing or non-JSON annotation file in one line (mixdet/datasets/coco_metric.py).
val_evaluator = dict(type='CheckedCocoMetric')
test_evaluator = val_evaluator
# Before the first iteration, the heads' num_classes and the evaluators' ann_file checked against the datasets
# (mixdet/datasets/data_check_hook.py; it also does what mmdet's NumClassCheckHook did here, one line instead of
# an assertion once the first epoch starts).
custom_hooks = [dict(type='DataCheckHook'), dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW')]
