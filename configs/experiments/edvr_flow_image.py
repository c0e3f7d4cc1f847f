# Tab. 4 / A.3: flow-based alignment, image warping (flow from features, warp the LR frame, extract)
_base_ = ['./_edvr_align_builtin.py']
model = dict(generator=dict(align_cfg=dict(_delete_=True, type='FlowWarpAlign', level='image', num_head_convs=2)))
