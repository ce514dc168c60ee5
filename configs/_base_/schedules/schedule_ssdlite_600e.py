# SSDLite schedule (mmdet ssdlite_mobilenetv2): SGD, 500-iteration warm-up, cosine over 120 epochs.
max_epochs = 120
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=0),
]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.015, momentum=0.9, weight_decay=4.0e-5))

# The learning rate above is for 8 GPUs x 24 images; `--auto-scale-lr` rescales it to the real batch.
auto_scale_lr = dict(enable=False, base_batch_size=192)
