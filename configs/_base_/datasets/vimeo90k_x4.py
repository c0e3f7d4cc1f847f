# Vimeo-90K septuplets ×4 (BI): GT data_root/sequences/<a>/<b>/im1..im7.png (448×256), LR (bicubic ×4, 112×64)
# mirrored under data_root/sequences_BIx4; lists sep_trainlist.txt / sep_testlist.txt (Vimeo-90K-T: 7824 clips).
# The reference (GT) frame is im4. Metrics on the Y channel (BT.601) with 8 border pixels cropped, as in the tables
# of "TDAN: Temporally-Deformable Alignment Network for Video Super-Resolution" (Tian et al., CVPR 2020).
data_root = 'data/vimeo_septuplet'
scale = 4
num_frames = 7

train_pipeline = [
    dict(type='LoadFramesFromFiles'),
    dict(type='PairedRandomCrop', gt_patch_size=256),  # LR patch 64×64
    dict(type='Flip', direction='horizontal', prob=0.5),
    dict(type='Flip', direction='vertical', prob=0.5),
    dict(type='RandomTranspose', prob=0.5),
    dict(type='PackVideoInputs'),
]
test_pipeline = [dict(type='LoadFramesFromFiles'), dict(type='PackVideoInputs')]

train_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='Vimeo90KSeptupletDataset', data_root=data_root, split='train', lq_folder='sequences_BIx4',
                 num_frames=num_frames, scale=scale, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=False, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='Vimeo90KSeptupletDataset', data_root=data_root, split='test', lq_folder='sequences_BIx4',
                 num_frames=num_frames, scale=scale, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='PSNR', crop_border=8, convert_to='Y'), dict(type='SSIM', crop_border=8, convert_to='Y')]
test_evaluator = val_evaluator
