# configs/edvr_m_ofl.py with the reference flows computed once instead of at every iteration: OpenCV DIS ('medium')
# on the whole LR frames, written as .flo files by
#   python tools/precompute_flow.py configs/edvr_m_ofl_flowfiles.py          # into ref_flows_root below
# and read in the data pipeline by LoadRefFlows *before* the crop and the flips, which crop (LR window) and flip the
# flows with the frames. Whole-frame flows cropped to the patch are not the numbers DIS gives on the patch itself
# (they differ near the patch borders, where the patch lacks the context); without a crop they are the same.
# Size: 4 files per training sample, 460 KB each at REDS's 320×180 LR size (~49 GB for 266 clips × 100 frames).
# Needs interval_list=[1] (the files are stored per frame position of interval-1 windows).
_base_ = ['./edvr_m_ofl.py']

ref_flows_root = 'data/REDS/ref_flows_dis_medium'
train_pipeline = [
    dict(type='LoadFramesFromFiles'),
    dict(type='LoadRefFlows', root=ref_flows_root),  # {key}/flow_{ref}_{t}.flo, LR resolution
    dict(type='PairedRandomCrop', gt_patch_size=256),  # LR patch 64×64; crops the LR flows with the LR window
    dict(type='Flip', direction='horizontal', prob=0.5),
    dict(type='Flip', direction='vertical', prob=0.5),
    dict(type='RandomTranspose', prob=0.5),
    dict(type='PackVideoInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
work_dir = 'work_dirs/edvr_m_ofl_flowfiles'
