# Tab. 4 / A.3: flow-based alignment, feature warping (FlowWarpAlign, one flow per PCD level)
_base_ = ['./_edvr_align_builtin.py']
model = dict(generator=dict(align_cfg=dict(_delete_=True, type='FlowWarpAlign', level='feature')))
