# Image- vs feature-level warping (paper Tab. 4 / A.3) on the flow-based network: one flow predicted from the LR
# features, the LR neighbour *frame* is warped, then the net's feature extractor runs on the warped frame.
_base_ = ['./flow_sr_x4_reds.py']
model = dict(generator=dict(align_cfg=dict(_delete_=True, type='FlowWarpAlign', level='image', num_head_convs=2)))
