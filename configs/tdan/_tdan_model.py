# TDAN ("TDAN: Temporally-Deformable Alignment Network for Video Super-Resolution", CVPR 2020): 64 channels, 5
# extraction blocks, cascaded deformable alignment (3 deformable convs on the offset features + 1 on the neighbour
# features, 8 deformable groups, 3×3 kernels, unmodulated — TDAN uses the original deformable conv), reconstruction
# from the aligned LR frames with 10 residual blocks, ×4. The alignment block is any registered block (align_cfg).
# Where this layout differs from TDAN's: docs/experiments.md ("TDAN layout").
model = dict(
    type='VideoSR',
    generator=dict(type='TDANNet', mid_channels=64, num_frames=5, deform_groups=8, num_extract_block=5,
                   num_reconstruct_block=10, num_cond_aligns=3, reconstruct_from='image', scale=4,
                   align_cfg=dict(type='DCNv2Align', kernel_size=3, modulated=False)),
    losses=[dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))
