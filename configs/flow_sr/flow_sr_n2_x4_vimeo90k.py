# Paper Tab. 2 (Vimeo-90K-T, RGB): the flow-based network with N = 2 SPyNets (N flows warp the LR neighbour
# image, each warped image encoded, 1×1 fusion).
_base_ = ['./_flow_sr_paper_tab2.py']
model = dict(generator=dict(align_cfg=dict(num_flows=2)))
