# The user's plugins in TDAN (see user_plugins_edvr.py): the block runs as TDAN's alignment and, since it declares
# cond_capable, as its three deformable convs on the offset features too.
_base_ = ['./user_plugins_edvr.py']
model = dict(generator=dict(_delete_=True, type='TDANNet', mid_channels=8, num_frames=5, deform_groups=2,
                            num_extract_block=1, num_reconstruct_block=1, align_cfg=dict(type='ScratchFlowAlign')))
