# SSDLite-MixNet-S trained from scratch on the embedded shapes dataset (tools/make_shapes_dataset.py),
# sized for `make demo`: 192x192 input, one CPU process, 1000 images x 10 epochs of batch 8 (about
# 10 minutes on 2 cores), AdamW with a short warm-up and cosine decay.
_base_ = '../ssdlite_mixnet/ssdlite_mixnet-s_8xb24-600e_coco.py'

data_root = 'data/shapes/'
classes = ('circle', 'rectangle', 'triangle', 'star', 'cross', 'ring')
input_size = 192
max_epochs = 10

# Taps at strides 8, 16 and 32 (objects are 6-110 px); anchors span the object sizes of the data.
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
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
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
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=1)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2.5e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=10.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=150),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=1e-5),
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=2, max_keep_ckpts=1, save_best='coco/bbox_mAP'))
log_processor = dict(window_size=10)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)  # the demo's numbers are reproducible run to run
