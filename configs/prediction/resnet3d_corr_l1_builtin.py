# As resnet3d_l1_builtin.py with the correspondence-wise L1 loss (symmetric, flow scaling eps=0.1, OpenCV DIS flow
# between prediction and target, computed without gradient).
_base_ = ['./resnet3d_l1_builtin.py']
model = dict(losses=[dict(type='CorrespondenceWiseLoss', base=dict(type='L1Loss'), flow=dict(type='DISFlow'),
                          epsilon=0.1, symmetric=True)])
