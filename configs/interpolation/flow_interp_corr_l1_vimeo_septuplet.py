# As flow_interp_l1_vimeo_septuplet.py with the correspondence-wise L1 loss (the paper's "FLAVR + Ours" setting,
# with FlowInterpNet instead of FLAVR).
_base_ = ['./flow_interp_l1_vimeo_septuplet.py']
model = dict(losses=[dict(type='CorrespondenceWiseLoss', base=dict(type='L1Loss'), flow=dict(type='DISFlow'),
                          epsilon=0.1, symmetric=True)])
