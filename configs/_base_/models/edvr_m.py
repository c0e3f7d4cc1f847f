# EDVR-M: 64 channels, 5 extraction blocks, 10 reconstruction blocks, 8 deformable groups, 5 frames, ×4.
model = dict(
    type='VideoSR',
    generator=dict(type='EDVRNet', mid_channels=64, num_frames=5, deform_groups=8, num_extract_block=5,
                   num_reconstruct_block=10, with_tsa=True, scale=4,
                   align_cfg=dict(type='DCNv2Align', kernel_size=3)),
    losses=[dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))
