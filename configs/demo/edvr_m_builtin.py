# EDVR-M trained on the built-in dataset (fully offline): the architecture is the full EDVR-M (PCD with DCNv2,
# TSA, 64 channels, 5/10 blocks, 8 deformable groups, 5 frames), on a short schedule sized for ~10 minutes on
# 2 CPU cores. Trained from scratch, EDVR-M sits at the bicubic baseline for its first ~200 iterations; a constant
# lr of 1e-3 (not the paper's 4e-4 cosine schedule, which decays before it gets there) lets it leave that plateau,
# and a short cosine decay ends the run.
_base_ = ['../_base_/default_runtime.py', '../_base_/schedules/edvr_600k.py',
          '../_base_/datasets/builtin_x4.py', '../_base_/models/edvr_m.py']

max_iters = 400
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=False, begin=300, end=max_iters,
                       T_max=max_iters - 300, eta_min=1e-5)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
train_dataloader = dict(batch_size=4, dataset=dict(gt_size=64))
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
work_dir = 'work_dirs/demo_edvr_m_builtin'
