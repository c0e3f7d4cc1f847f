# 3D-ResNet predictor (ngf=32, 13.4 M parameters) on KITTI-style frame folders with the correspondence-wise L1
# loss: 4 context frames -> 5 future frames, recursive training through the whole chain. Paper: Adam 2e-4, batch 3,
# ~2.5e5 iterations (20 epochs); weights N(0, 0.02).
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/kitti_frames.py']

model = dict(
    type='VideoPrediction',
    generator=dict(type='ResNet3DPredictor', num_context={{_base_.num_context}}, ngf=32),
    num_context={{_base_.num_context}},
    num_future={{_base_.num_future}},
    eval_num_future={{_base_.eval_num_future}},
    losses=[dict(type='CorrespondenceWiseLoss', base=dict(type='L1Loss'), flow=dict(type='DISFlow'),
                 epsilon=0.1, symmetric=True)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))

train_dataloader = dict(batch_size=3)
max_iters = 250000
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999)))
param_scheduler = dict(type='ConstantLR', by_epoch=False, factor=1.0, total=max_iters)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=10000, max_keep_ckpts=3))
