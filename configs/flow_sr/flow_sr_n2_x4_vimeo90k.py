# Paper Tab. 2 (Vimeo-90K-T): the flow-based network with N = 2 SPyNets (N flows, N warps, 1×1 fusion).
_base_ = ['./flow_sr_x4_vimeo90k.py']
model = dict(generator=dict(align_cfg=dict(num_flows=2)))
