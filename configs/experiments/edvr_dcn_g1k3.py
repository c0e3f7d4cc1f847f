# Tab. 1: DCN (unmodulated), G=1, k=3; offsets from the same 3×3 conv as the decomposition
_base_ = ['./_edvr_align_builtin.py']
model = dict(generator=dict(deform_groups=1, align_cfg=dict(kernel_size=3)))
