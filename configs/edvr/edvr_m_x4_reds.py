# EDVR-M on REDS ×4, the paper setting: Adam 4e-4, cosine restarts, 600k iterations, batch 16, LR patch 64,
# flips + rotations, Charbonnier loss. (The paper also pretrains without TSA and freezes those weights for the
# first 50k iterations of the full model; that two-stage schedule is not encoded here.)
_base_ = ['../_base_/default_runtime.py', '../_base_/schedules/edvr_600k.py',
          '../_base_/datasets/reds_x4.py', '../_base_/models/edvr_m.py']
