# Base of the flow-based rows of Tab. 2 of "Understanding Deformable Alignment in Video Super-Resolution" (AAAI
# 2021): the N SPyNet flows warp the LR neighbour IMAGE (offset diversity at image level, the paper's footnote);
# every warped image is encoded by the network's extractor before the 1×1 fusion. Vimeo-90K-T in RGB, no crop (that
# paper's convention, stated in its Tab. 3).
_base_ = ['./flow_sr_x4_vimeo90k.py']
model = dict(generator=dict(align_cfg=dict(warp_level='image')))
val_evaluator = [dict(type='PSNR', crop_border=0), dict(type='SSIM', crop_border=0)]
test_evaluator = val_evaluator
