# Tab. 4 / A.3: flow-based alignment in PCD, FEATURE warping (FlowWarpAlign: one flow per PCD level predicted from
# PCD's offset features, backward warp of the level's neighbour features, 1×1 conv); the cascade the same block.
_base_ = ['./_edvr_align_builtin.py']
model = dict(generator=dict(align_cfg=dict(_delete_=True, type='FlowWarpAlign', level='feature'),
                            cascade_align_cfg=dict(type='FlowWarpAlign', level='feature')))
