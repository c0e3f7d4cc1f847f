# KITTI / Cityscapes-style prediction sequences stored as frame folders (FramesFolderDataset mode='prediction'):
#   data_root/<sequence>/<frame>.png      (frames sorted naturally; KITTI raw at 10 Hz)
# Setting of "Correspondence-wise losses" / Wu et al. (CVPR 2020): frames resized to 832x256 (KITTI; Cityscapes
# 1024x512), 4 context frames, 5 future frames (Cityscapes: 10). Prepare the resized frames beforehand.
data_root = 'data/kitti_prediction'
num_context = 4
num_future = 5
eval_num_future = 5

train_pipeline = [
    dict(type='LoadFramesFromFiles'),
    dict(type='PairedRandomCrop', gt_patch_size=(256, 256)),
    dict(type='Flip', direction='horizontal', prob=0.5),
    dict(type='PackVideoInputs'),
]
test_pipeline = [dict(type='LoadFramesFromFiles'), dict(type='PackVideoInputs')]

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True, collate_fn=dict(type='default_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='FramesFolderDataset', data_root=data_root + '/train', mode='prediction',
                 num_context=num_context, num_future=num_future, stride=1, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=False, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FramesFolderDataset', data_root=data_root + '/test', mode='prediction',
                 num_context=num_context, num_future=eval_num_future, stride=eval_num_future,
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='PSNR', steps=(1, 3, 5)), dict(type='SSIM', steps=(1, 3, 5)),
                 dict(type='MSSSIM', steps=(1, 3, 5))]
test_evaluator = val_evaluator
