# A tiny EDVR on the built-in dataset, for tests: trains a few iterations in seconds on CPU.
_base_ = ['../../../configs/_base_/default_runtime.py', '../../../configs/_base_/schedules/edvr_600k.py',
          '../../../configs/_base_/datasets/builtin_x4.py', '../../../configs/_base_/models/edvr_m.py']
model = dict(generator=dict(mid_channels=8, deform_groups=2, num_extract_block=1, num_reconstruct_block=1))
train_dataloader = dict(batch_size=2, dataset=dict(num_clips=8, gt_size=32))
val_dataloader = dict(dataset=dict(num_clips=2, gt_size=32))
test_dataloader = val_dataloader
param_scheduler = dict(periods=[4], restart_weights=[1])
train_cfg = dict(max_iters=4, val_interval=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=2))
