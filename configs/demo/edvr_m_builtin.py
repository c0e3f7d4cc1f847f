# EDVR-M trained on the built-in dataset (fully offline) — what `make demo` runs.
# A short schedule sized for ~10 minutes on 2 CPU cores; the architecture is the full EDVR-M.
_base_ = ['../_base_/default_runtime.py', '../_base_/schedules/edvr_600k.py',
          '../_base_/datasets/builtin_x4.py', '../_base_/models/edvr_m.py']

max_iters = 300
optim_wrapper = dict(optimizer=dict(lr=4e-4))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-5)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
train_dataloader = dict(batch_size=4, dataset=dict(gt_size=64))
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
work_dir = 'work_dirs/demo_edvr_m_builtin'
