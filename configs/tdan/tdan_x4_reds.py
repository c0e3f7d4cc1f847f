# TDAN ×4 on REDS (5 frames), evaluated on REDS4 (RGB, no crop).
_base_ = ['../_base_/default_runtime.py', '../_base_/schedules/edvr_600k.py',
          '../_base_/datasets/reds_x4.py', './_tdan_model.py']
# the VideoSR head reads batched tensors: MMEngine's default_collate (not its pseudo_collate default)
train_dataloader = dict(collate_fn=dict(type='default_collate'))
val_dataloader = dict(collate_fn=dict(type='default_collate'))
test_dataloader = val_dataloader
