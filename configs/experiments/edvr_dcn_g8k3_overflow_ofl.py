# Offset overflow (paper Tab. 3 / Fig. 10), WITH the offset-fidelity loss in its paper-faithful form (eq. 5 summed
# over pixels, every PCD level of every neighbour against the dataset's exact flow, the cascade not penalised):
# λ = 1 / (2·24·24) is the public reference's λ = 1 (per-offset mean) at level 1 of these 24×24 LR patches, t = 10 px.
_base_ = ['./edvr_dcn_g8k3_overflow.py']
model = dict(losses=[
    dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-12),
    dict(type='OffsetFidelityLoss', loss_weight=1.0 / (2 * 24 * 24), threshold=10.0, normalization='sum',
         include_residual=False, flow=dict(type='GTFlow'))])
