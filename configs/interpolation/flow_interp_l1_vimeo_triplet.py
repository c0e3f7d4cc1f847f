# FlowInterpNet (mid_channels=32, 4 levels) on Vimeo-90K triplets, pixel-wise L1; the paper's FLAVR schedule:
# Adam 2e-4, batch 32, 120 epochs (51,312 triplets / 32 -> ~1604 iterations per epoch).
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/vimeo90k_triplet.py']

model = dict(
    type='VideoInterpolation',
    generator=dict(type='FlowInterpNet', num_frames=2, mid_channels=32, num_levels=4),
    num_context=2,
    losses=[dict(type='L1Loss', loss_weight=1.0)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))

max_iters = 192480
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999)))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-6)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=10000, max_keep_ckpts=3))
