# Built-in frame-interpolation data: SyntheticMotionDataset clips of num_context + 1 frames at full resolution
# (scale=1, gt_mode='all'); VideoInterpolation (input_mode 'auto' -> 'clip') takes the middle frame as the target
# and the others as context. max_translation is per frame, so the two context frames are up to 2x that apart.
num_context = 2

train_pipeline = [
    dict(type='Flip', direction='horizontal', prob=0.5),
    dict(type='Flip', direction='vertical', prob=0.5),
    dict(type='RandomTranspose', prob=0.5),
    dict(type='TemporalReverse', prob=0.5),
    dict(type='PackVideoInputs'),
]
test_pipeline = [dict(type='PackVideoInputs')]

train_dataloader = dict(
    batch_size=8, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SyntheticMotionDataset', num_clips=4000, num_frames=num_context + 1, gt_size=64, scale=1,
                 gt_mode='all', split='train', seed=0, max_translation=4.0, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticMotionDataset', num_clips=16, num_frames=num_context + 1, gt_size=176, scale=1,
                 gt_mode='all', split='val', seed=1, max_translation=4.0, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
# 176x176 val frames: MS-SSIM needs at least 161 pixels a side
val_evaluator = [dict(type='PSNR'), dict(type='SSIM'), dict(type='MSSSIM')]
test_evaluator = val_evaluator
