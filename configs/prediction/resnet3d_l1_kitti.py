# The pixel-wise L1 baseline of resnet3d_corr_l1_kitti.py.
_base_ = ['./resnet3d_corr_l1_kitti.py']
model = dict(losses=[dict(type='L1Loss', loss_weight=1.0)])
