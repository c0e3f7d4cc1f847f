# EDVR paper setting (appendix A.1 of "Understanding Deformable Alignment"): Adam 4e-4, cosine annealing with
# restarts, 600k iterations (4 periods of 150k).
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.99)))
param_scheduler = dict(type='CosineRestartLR', by_epoch=False, periods=[150000, 150000, 150000, 150000],
                       restart_weights=[1, 1, 1, 1], eta_min=1e-7)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
