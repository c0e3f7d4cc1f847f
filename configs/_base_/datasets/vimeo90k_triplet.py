# Vimeo-90K triplets (448x256): im1, im3 -> im2. data_root/sequences/<a>/<b>/im{1,2,3}.png,
# data_root/tri_trainlist.txt, tri_testlist.txt. Metrics on RGB (the interpolation literature's convention).
data_root = 'data/vimeo_triplet'
num_context = 2

train_pipeline = [
    dict(type='LoadFramesFromFiles'),
    dict(type='PairedRandomCrop', gt_patch_size=256),
    dict(type='Flip', direction='horizontal', prob=0.5),
    dict(type='Flip', direction='vertical', prob=0.5),
    dict(type='TemporalReverse', prob=0.5),
    dict(type='PackVideoInputs'),
]
test_pipeline = [dict(type='LoadFramesFromFiles'), dict(type='PackVideoInputs')]

train_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='Vimeo90KTripletDataset', data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=False, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='Vimeo90KTripletDataset', data_root=data_root, split='test', pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='PSNR'), dict(type='SSIM'), dict(type='MSSSIM')]
test_evaluator = val_evaluator
