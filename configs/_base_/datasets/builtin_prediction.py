# Built-in video prediction data: SyntheticMotionDataset clips at full resolution (scale=1, gt_mode='all').
# Each sample is a clip of num_context + num_future frames; VideoPrediction (input_mode 'auto' → 'clip') uses
# frames 0..K-1 as context and the next ones as targets. Train and val use disjoint photos (fully offline).
num_context = 2
num_future = 3        # steps supervised in training (backprop through the recursion)
eval_num_future = 5   # steps predicted at test time: PSNR/SSIM reported at t+1, t+3, t+5

train_pipeline = [
    dict(type='Flip', direction='horizontal', prob=0.5),
    dict(type='Flip', direction='vertical', prob=0.5),
    dict(type='RandomTranspose', prob=0.5),
    dict(type='PackVideoInputs'),
]
test_pipeline = [dict(type='PackVideoInputs')]

train_dataloader = dict(
    batch_size=4, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SyntheticMotionDataset', num_clips=2000, num_frames=num_context + num_future, gt_size=64,
                 scale=1, gt_mode='all', split='train', seed=0, max_translation=2.0, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticMotionDataset', num_clips=16, num_frames=num_context + eval_num_future, gt_size=176,
                 scale=1, gt_mode='all', split='val', seed=1, max_translation=2.0, pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
# val frames are 176x176: MS-SSIM (5 scales, 11x11 window) needs at least 161 pixels a side
# per-step values PSNR_t+1 / _t+3 / _t+5 come with the averages
val_evaluator = [dict(type='PSNR', steps=(1, 3, 5)), dict(type='SSIM', steps=(1, 3, 5)),
                 dict(type='MSSSIM', steps=(1, 3, 5))]
test_evaluator = val_evaluator
