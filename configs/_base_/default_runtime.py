default_scope = 'vidtoolbox'

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/train.py switches to gloo on CPU
)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=5000, by_epoch=False, max_keep_ckpts=3,
                    save_optimizer=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
log_processor = dict(type='LogProcessor', window_size=100, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# diff_rank_seed: each process of a distributed run draws its own augmentations (seed + rank); the sampler's
# shuffling stays shared (MMEngine's samplers synchronise their own seed), so ranks still see disjoint samples
randomness = dict(seed=0, diff_rank_seed=True)
