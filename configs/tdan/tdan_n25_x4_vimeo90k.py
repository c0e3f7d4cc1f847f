# Paper Tab. 2 (Vimeo-90K-T): TDAN with N = 25 offsets per group (NOffsetAlign in all four deformable convs).
_base_ = ['./tdan_x4_vimeo90k.py']
model = dict(generator=dict(align_cfg=dict(_delete_=True, type='NOffsetAlign', num_offsets=25)))
