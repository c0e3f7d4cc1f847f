# TDAN ×4 on Vimeo-90K (5 frames centred on im4), evaluated on Vimeo-90K-T, Y channel, crop 8 (TDAN's own
# convention; the Tab. 2 variants of Chan et al. evaluate in RGB: _tdan_paper_tab2.py).
# Schedule: the EDVR one (Adam 4e-4, cosine restarts, 600k iterations); the paper does not publish its TDAN schedule.
_base_ = ['../_base_/default_runtime.py', '../_base_/schedules/edvr_600k.py',
          '../_base_/datasets/vimeo90k_x4.py', './_tdan_model.py']
num_frames = 5
train_dataloader = dict(dataset=dict(num_frames=num_frames))
val_dataloader = dict(dataset=dict(num_frames=num_frames))
test_dataloader = val_dataloader
