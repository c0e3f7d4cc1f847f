# FlowInterpNet (small flow-based U-Net: bidirectional flows + blend mask + RGB residual, ops.flow_warp) on the
# built-in dataset, 2 context frames -> middle frame, pixel-wise L1. Sized to train on 2 CPU cores in minutes.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/builtin_interp.py']

model = dict(
    type='VideoInterpolation',
    generator=dict(type='FlowInterpNet', num_frames={{_base_.num_context}}, mid_channels=16, num_levels=3),
    num_context={{_base_.num_context}},
    losses=[dict(type='L1Loss', loss_weight=1.0)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))

max_iters = 1000
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999)))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-5)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
