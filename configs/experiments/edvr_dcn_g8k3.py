# Tab. 1: DCN, G=8, k=3
_base_ = ['./_edvr_align_builtin.py']
model = dict(generator=dict(deform_groups=8, align_cfg=dict(kernel_size=3)))
