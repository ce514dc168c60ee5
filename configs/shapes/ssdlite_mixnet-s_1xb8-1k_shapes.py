# SSDLite-MixNet-S trained from scratch on the embedded shapes dataset (tools/misc/make_shapes_dataset.py),
# sized for `make demo`: 192x192 input, one CPU process, 1000 iterations of batch 8 (5-20 minutes
# on 2 cores, by CPU), AdamW with a short warm-up and cosine decay, validation every 250 iterations.
# Iteration-based: the 5000 training images are more than 10 minutes can consume (each is seen 1.6
# times), which keeps the model from memorising them (1000 images x 10 epochs: train mAP 0.59, val 0.42).
_base_ = '../ssdlite_mixnet/ssdlite_mixnet-s-scratch_8xb24-600e_coco.py'

data_root = 'data/shapes/'
classes = ('circle', 'rectangle', 'triangle', 'star', 'cross', 'ring')
input_size = 192
max_iters = 1000
val_interval = 250

# Taps at strides 8, 16 and 32 (objects are 12-96 px); anchors span the object sizes of the data.
# BatchNorm momentum 0.1 (not SSDLite's 0.03): on a schedule this short the running statistics must keep up.
norm_cfg = dict(type='BN', eps=0.001, momentum=0.1)
model = dict(
    backbone=dict(out_indices=(2, 4, 6), norm_cfg=norm_cfg),
    neck=dict(
        norm_cfg=norm_cfg,
        out_channels=(None, None, None, 256, 128, 128),
        level_strides=(2, 2, 2),
        level_paddings=(1, 1, 1)),
    bbox_head=dict(
        num_classes=len(classes),
        norm_cfg=norm_cfg,
        anchor_generator=dict(
            strides=[8, 16, 32, 64, 96, 192],
            ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]],
            min_sizes=[10, 22, 44, 80, 120, 160],
            max_sizes=[22, 44, 80, 120, 160, 200])),
    # IoU 0.35 instead of SSD's 0.5 for positive anchors: with 4-6 anchors per position an object of this
    # data gets 1.8 positives on average at 0.5 (55% of objects just one), 4.7 at 0.4 and 7-9 at 0.35.
    # bbox mAP after 1000 iterations: 0.528 at 0.4, 0.579 at 0.35, 0.570 at 0.3 (docs/demo-tuning.md).
    train_cfg=dict(assigner=dict(pos_iou_thr=0.35, neg_iou_thr=0.35)),
    test_cfg=dict(score_thr=0.05, max_per_img=50))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
metainfo = dict(classes=classes)
# No worker processes: on 2 cores a loader process slows the training step more than it saves.
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type={{_base_.dataset_type}},
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=1),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
# fused=True: AdamW's one-kernel CPU/CUDA step (torch >= 2.4), a few percent of every iteration on CPU.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2.5e-3, weight_decay=0.05, fused=True),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=10.))
# The cosine ends where training ends: train_cfg.max_iters (the runner's default `end`).
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=150),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, eta_min=1e-5),
]
default_hooks = dict(
    logger=dict(interval=10, log_metric_by_epoch=False),  # validation metrics at their iteration
    checkpoint=dict(by_epoch=False, interval=val_interval, max_keep_ckpts=1, save_best='coco/bbox_mAP'))
log_processor = dict(by_epoch=False, window_size=10)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)  # the demo's numbers are reproducible run to run
