# As flow_interp_l1_vimeo_triplet.py with the correspondence-wise L1 loss (paper §4.2).
_base_ = ['./flow_interp_l1_vimeo_triplet.py']
model = dict(losses=[dict(type='CorrespondenceWiseLoss', base=dict(type='L1Loss'), flow=dict(type='DISFlow'),
                          epsilon=0.1, symmetric=True)])
