# Image- vs feature-level warping (paper Tab. 4 / A.3: "replacing the feature alignment module in our flow-based
# baseline by an image alignment module"): flow_sr_x4_reds.py with only the warping level changed — the SPyNet flow
# warps the LR neighbour frame, which the network's extractor then encodes (same parameters as the baseline).
_base_ = ['./flow_sr_x4_reds.py']
model = dict(generator=dict(align_cfg=dict(warp_level='image')))
