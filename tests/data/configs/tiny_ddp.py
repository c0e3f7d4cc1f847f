_base_ = ['./tiny_edvr_builtin.py']
custom_imports = dict(imports=['rank_dump_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='RankWeightsDumpHook')]
train_cfg = dict(max_iters=3, val_interval=1000)
