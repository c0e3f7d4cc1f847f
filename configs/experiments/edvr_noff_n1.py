# Fig. 9: offset diversity, N = 1 offsets (unmodulated warps + 1×1 conv), G = 1
_base_ = ['./_edvr_align_builtin.py']
model = dict(generator=dict(deform_groups=1, align_cfg=dict(_delete_=True, type='NOffsetAlign', num_offsets=1,
                                                         modulated=False, offset_kernel_size=3)))
