# As resnet3d_l1_builtin.py with a pixel-wise MSE (L2) loss.
_base_ = ['./resnet3d_l1_builtin.py']
model = dict(losses=[dict(type='MSELoss', loss_weight=1.0)])
