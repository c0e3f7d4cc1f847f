# Tab. 1: the decomposition of a 3×3 DCN (N = k² = 9 warps at the kernel taps + 1×1 conv, unmodulated), G=8
_base_ = ['./_edvr_align_builtin.py']
model = dict(generator=dict(deform_groups=8, align_cfg=dict(_delete_=True, type='NOffsetAlign', num_offsets=9,
                                                         modulated=False, offset_kernel_size=3)))
