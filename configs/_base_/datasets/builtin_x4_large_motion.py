# The built-in SyntheticMotionDataset with large motion: every layer (camera and objects) starts at 8–24 GT px
# per frame (2–6 LR px at ×4; on average 3.7 LR px between consecutive frames and up to ~12 LR px between the
# reference and the outer frames of a 5-frame clip) — the regime PCD alignment was designed for (REDS: several to
# tens of LR pixels). Today's default (0–4 GT px, ~0.5 LR px per frame) is builtin_x4.py. Histograms of both:
# docs/experiments.md (benchmarks/synthetic_motion.py).
_base_ = ['./builtin_x4.py']

train_dataloader = dict(dataset=dict(min_translation=8.0, max_translation=24.0))
val_dataloader = dict(dataset=dict(min_translation=8.0, max_translation=24.0))
test_dataloader = val_dataloader
