# A user's plugins (tests/data/plugins/user_plugins) in EDVR, chosen by config: the alignment block written from
# scratch at every PCD level, the user's loss beside Charbonnier, offset fidelity against the user's flow source,
# and the offset monitor. `--cfg-options model.generator.align_cfg.type=MyDCN` swaps in the subclassed DCN.
_base_ = ['./tiny_edvr_builtin.py']
custom_imports = dict(imports=['user_plugins'], allow_failed_imports=False)
model = dict(
    generator=dict(deform_groups=2, align_cfg=dict(_delete_=True, type='ScratchFlowAlign')),
    losses=[dict(type='CharbonnierLoss'), dict(type='GradientL1Loss', loss_weight=0.5),
            dict(type='OffsetFidelityLoss', threshold=0.5, flow=dict(type='PhaseCorrFlow'))])
custom_hooks = [dict(type='OffsetMonitorHook', interval=1, vis_interval=0)]
train_dataloader = dict(collate_fn=dict(type='default_collate'))
train_cfg = dict(max_iters=2, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=1000))
