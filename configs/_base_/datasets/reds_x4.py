# REDS ×4 (BI): data_root/train_sharp/<clip>/<frame>.png and data_root/train_sharp_bicubic/X4/<clip>/<frame>.png.
# REDS4 (clips 000, 011, 015, 020) is held out for validation/testing; every other clip trains.
data_root = 'data/REDS'
scale = 4
num_frames = 5

train_pipeline = [
    dict(type='LoadFramesFromFiles'),
    dict(type='PairedRandomCrop', gt_patch_size=256),  # LR patch 64×64
    dict(type='Flip', direction='horizontal', prob=0.5),
    dict(type='Flip', direction='vertical', prob=0.5),
    dict(type='RandomTranspose', prob=0.5),  # with the flips: the 8 rotations/reflections
    dict(type='PackVideoInputs'),
]
test_pipeline = [dict(type='LoadFramesFromFiles'), dict(type='PackVideoInputs')]

train_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='REDSDataset', data_root=data_root, split='train', num_frames=num_frames, scale=scale,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='REDSDataset', data_root=data_root, split='val', num_frames=num_frames, scale=scale,
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
# REDS4 is evaluated on RGB without crop, as EDVR, BasicVSR and the MMagic/BasicSR model zoos report it
val_evaluator = [dict(type='PSNR', crop_border=0), dict(type='SSIM', crop_border=0)]
test_evaluator = val_evaluator
