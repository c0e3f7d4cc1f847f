# Shared base of the alignment experiments of "Understanding Deformable Alignment in Video Super-Resolution"
# (Chan et al., AAAI 2021; Tab. 1, Fig. 5, Fig. 9, Tab. 4, Tab. 3) on the built-in dataset with LARGE motion
# (builtin_x4_large_motion.py: 2–6 LR px per frame), sized for 2 shared CPU cores: a narrow EDVR-M (16 channels,
# 2 extraction / 4 reconstruction blocks, PCD + TSA, 5 frames, ×4), 300 iterations of batch 4 with LR patches
# 24×24 (whole rendered clips), Adam 1e-3 with cosine decay to 1e-6, Charbonnier loss; validation on 16 held-out
# clips (GT 128×128, RGB PSNR/SSIM). Each experiment file changes only the alignment block (and G).
#
# Paper-faithful alignment settings: the analyses of Sec. 4.1–4.2 use UNmodulated deformable convs
# (modulated=False), and the DCN and its decomposition predict their offsets with the same 3×3 conv for every
# kernel size k (offset_kernel_size=3; mmcv's DCN packs would use a 1×1 conv for k = 1).
_base_ = ['../_base_/default_runtime.py', '../_base_/schedules/edvr_600k.py',
          '../_base_/datasets/builtin_x4_large_motion.py', '../_base_/models/edvr_m.py']

model = dict(generator=dict(mid_channels=16, num_extract_block=2, num_reconstruct_block=4, deform_groups=8,
                            align_cfg=dict(type='DCNv2Align', kernel_size=3, modulated=False, offset_kernel_size=3)))
max_iters = 300
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-6)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
# the VideoSR head reads batched tensors: MMEngine's default_collate (not its pseudo_collate default)
train_dataloader = dict(batch_size=4, dataset=dict(gt_size=96), collate_fn=dict(type='default_collate'))
val_dataloader = dict(dataset=dict(num_clips=16, gt_size=128), collate_fn=dict(type='default_collate'))
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
