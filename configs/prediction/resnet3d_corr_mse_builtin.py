# As resnet3d_l1_builtin.py with the correspondence-wise MSE loss.
_base_ = ['./resnet3d_l1_builtin.py']
model = dict(losses=[dict(type='CorrespondenceWiseLoss', base=dict(type='MSELoss'), flow=dict(type='DISFlow'),
                          epsilon=0.1, symmetric=True)])
