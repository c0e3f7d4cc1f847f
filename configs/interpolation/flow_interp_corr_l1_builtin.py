# As flow_interp_l1_builtin.py with the correspondence-wise L1 loss (symmetric, eps=0.1, DIS flow).
_base_ = ['./flow_interp_l1_builtin.py']
model = dict(losses=[dict(type='CorrespondenceWiseLoss', base=dict(type='L1Loss'), flow=dict(type='DISFlow'),
                          epsilon=0.1, symmetric=True)])
