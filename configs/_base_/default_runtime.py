# Runtime shared by every config: mmdet scope, mixdet registered, logging, checkpoints.
custom_imports = dict(imports=['mixdet'], allow_failed_imports=False)
default_scope = 'mmdet'
# mixdet's Runner: checkpoints are read as data and loaded strictly, written atomically (mixdet/engine/runner.py).
runner_type = 'MixdetRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', interval=5, max_keep_ckpts=3, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches nccl to gloo when CUDA is not available. timeout (s): a collective that waits
    # longer (a hung or stopped rank) ends the job with an error instead of hanging it forever.
    dist_cfg=dict(backend='nccl', timeout=1800))

# tools/train.py adds TensorboardVisBackend when tensorboard is installed.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
