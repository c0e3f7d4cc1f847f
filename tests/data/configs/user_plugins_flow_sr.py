# The user's plugins in the flow-based SR network (see user_plugins_edvr.py).
_base_ = ['./user_plugins_edvr.py']
model = dict(generator=dict(_delete_=True, type='FlowSRNet', mid_channels=8, num_frames=5, num_extract_block=1,
                            num_reconstruct_block=1, align_cfg=dict(type='ScratchFlowAlign', deform_groups=2)))
