# Paper Tab. 2 (Vimeo-90K-T, RGB): TDAN with N = 25 offsets per group (unmodulated NOffsetAlign in all four
# deformable convs).
_base_ = ['./_tdan_paper_tab2.py']
model = dict(generator=dict(align_cfg=dict(_delete_=True, type='NOffsetAlign', num_offsets=25, modulated=False)))
