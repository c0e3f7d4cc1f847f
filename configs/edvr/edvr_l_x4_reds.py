# EDVR-L: 128 channels, 40 reconstruction blocks; everything else as EDVR-M.
_base_ = ['./edvr_m_x4_reds.py']
model = dict(generator=dict(mid_channels=128, num_reconstruct_block=40))
