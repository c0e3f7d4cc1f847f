# Base of the TDAN rows of Tab. 2 of "Understanding Deformable Alignment in Video Super-Resolution" (AAAI 2021):
# TDAN on Vimeo-90K, evaluated on Vimeo-90K-T in RGB without cropping — that paper's convention (its Tab. 3 states
# RGB) — while tdan_x4_vimeo90k.py keeps TDAN's own convention (Y channel, 8 border pixels cropped).
_base_ = ['./tdan_x4_vimeo90k.py']
val_evaluator = [dict(type='PSNR', crop_border=0), dict(type='SSIM', crop_border=0)]
test_evaluator = val_evaluator
