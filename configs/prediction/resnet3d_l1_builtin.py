# 3D-ResNet predictor (Correspondence-wise losses, Tab. A1) on the built-in dataset with a pixel-wise L1 loss.
# 2 context frames -> 3 recursively predicted frames in training (backprop through the chain), 5 at test
# (metrics per step t+1, t+3, t+5). The paper's optimiser: Adam 2e-4 (the reference code uses 1e-4), batch 3-5.
# Sized for a CPU: ngf=16 (3.3 M parameters); ngf=32 is the paper's width (13.4 M).
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/builtin_prediction.py']

model = dict(
    type='VideoPrediction',
    generator=dict(type='ResNet3DPredictor', num_context={{_base_.num_context}}, ngf=16),
    num_context={{_base_.num_context}},
    num_future={{_base_.num_future}},
    eval_num_future={{_base_.eval_num_future}},
    losses=[dict(type='L1Loss', loss_weight=1.0)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))

max_iters = 2000
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-6)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
