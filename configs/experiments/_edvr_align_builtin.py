# Shared base of the alignment experiments (paper Tab. 1 and Fig. 9) on the built-in dataset: a narrow EDVR-M
# (32 channels, 2 extraction / 4 reconstruction blocks, 5 frames, PCD + TSA, ×4) trained briefly on 2 CPU cores.
# Each experiment file overrides only the alignment block (and G).
_base_ = ['../_base_/default_runtime.py', '../_base_/schedules/edvr_600k.py',
          '../_base_/datasets/builtin_x4.py', '../_base_/models/edvr_m.py']

model = dict(generator=dict(mid_channels=32, num_extract_block=2, num_reconstruct_block=4, deform_groups=8,
                            align_cfg=dict(type='DCNv2Align', kernel_size=3)))
max_iters = 400
optim_wrapper = dict(optimizer=dict(lr=4e-4))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-6)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
# the VideoSR head reads batched tensors: MMEngine's default_collate (not its pseudo_collate default)
train_dataloader = dict(batch_size=4, dataset=dict(gt_size=64), collate_fn=dict(type='default_collate'))
val_dataloader = dict(dataset=dict(num_clips=16, gt_size=128), collate_fn=dict(type='default_collate'))
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
