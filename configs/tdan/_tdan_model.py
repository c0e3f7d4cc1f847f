# TDAN (Tian et al., CVPR 2020): 64 channels, 5 extraction blocks, cascaded deformable alignment (3 deformable convs
# on the offset features + 1 on the neighbour features, 8 deformable groups, 3×3 kernels), reconstruction from the
# aligned LR frames with 10 residual blocks, ×4. The alignment block is any registered block (align_cfg).
model = dict(
    type='VideoSR',
    generator=dict(type='TDANNet', mid_channels=64, num_frames=5, deform_groups=8, num_extract_block=5,
                   num_reconstruct_block=10, num_cond_aligns=3, reconstruct_from='image', scale=4,
                   align_cfg=dict(type='DCNv2Align', kernel_size=3)),
    losses=[dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))
