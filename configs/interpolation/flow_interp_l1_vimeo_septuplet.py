# The paper's §4.2 setting on Vimeo-90K septuplets: the two middle frames im3, im5 -> im4 (num_context=2), pixel-wise
# L1 (set num_context=4 for im2, im3, im5, im6). Adam 2e-4, batch 32, 120 epochs (64,612 sequences -> ~2019 it/epoch).
_base_ = ['./flow_interp_l1_vimeo_triplet.py']
data_root = 'data/vimeo_septuplet'
num_context = 2
model = dict(generator=dict(num_frames=num_context), num_context=num_context)
train_dataloader = dict(dataset=dict(_delete_=True, type='Vimeo90KSeptupletDataset', data_root=data_root,
                                     split='train', mode='interpolation', num_frames=num_context,
                                     pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(_delete_=True, type='Vimeo90KSeptupletDataset', data_root=data_root,
                                   split='test', mode='interpolation', num_frames=num_context,
                                   pipeline={{_base_.test_pipeline}}, test_mode=True))
test_dataloader = val_dataloader
max_iters = 242280
param_scheduler = dict(T_max=max_iters)
train_cfg = dict(max_iters=max_iters)
