# The built-in SyntheticMotionDataset: clips rendered from the photos bundled in scikit-image (fully offline),
# with exact ground-truth flow; LR by bicubic ×4 (BI). Train and val use disjoint photos.
scale = 4
num_frames = 5

train_pipeline = [
    dict(type='Flip', direction='horizontal', prob=0.5),
    dict(type='Flip', direction='vertical', prob=0.5),
    dict(type='RandomTranspose', prob=0.5),
    dict(type='PackVideoInputs'),
]
test_pipeline = [dict(type='PackVideoInputs')]

train_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SyntheticMotionDataset', num_clips=2000, num_frames=num_frames, gt_size=64, scale=scale,
                 split='train', seed=0, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticMotionDataset', num_clips=16, num_frames=num_frames, gt_size=128, scale=scale,
                 split='val', seed=1, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='PSNR', crop_border=0), dict(type='SSIM', crop_border=0)]
test_evaluator = val_evaluator
