# Offset overflow (paper Tab. 3 / Fig. 10), without the offset-fidelity loss: EDVR's own modulated DCNv2 (G = 8,
# k = 3) at every PCD level, no TSA (a plain 1×1 fusion) and a large Adam learning rate without warm-up — an
# unstable setting on purpose, so that the overflow the paper meets in long EDVR-L trainings shows within a few
# hundred CPU iterations. tools/reproduce.py ofl sweeps the learning rate and the seed.
_base_ = ['./_edvr_align_builtin.py']
model = dict(generator=dict(with_tsa=False, align_cfg=dict(modulated=True)))
optim_wrapper = dict(optimizer=dict(lr=4e-3))
