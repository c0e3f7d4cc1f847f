# Tab. 4 / A.3: flow-based alignment in PCD, IMAGE warping — only the warping level differs from
# edvr_flow_feature.py (same parameters, same PCD offset prediction, level fusion and cascade): at level l the flow
# (predicted from PCD's offset features, as there) is resized to the LR size, warps the LR neighbour frame, and the
# warped frame is encoded to level l by EDVR's own extractor (conv_first + feature_extraction [+ conv_l2_*]
# [+ conv_l3_*]) before the same 1×1 conv. The cascade refines fused features, so it stays feature-level in both.
_base_ = ['./_edvr_align_builtin.py']
model = dict(generator=dict(align_cfg=dict(_delete_=True, type='FlowWarpAlign', level='image'),
                            cascade_align_cfg=dict(type='FlowWarpAlign', level='feature')))
