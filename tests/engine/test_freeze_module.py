"""FreezeModuleHook: SPyNet frozen for the first iterations of a real optimisation, then trained; paramwise lr."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from vidtoolbox.engine.hooks import FreezeModuleHook
from vidtoolbox.registry import HOOKS, MODELS


def test_spynet_frozen_until_iter_then_trained_at_its_own_lr():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='VideoSR', generator=dict(type='BasicVSRNet', mid_channels=8, num_blocks=1),
                              losses=[dict(type='CharbonnierLoss')]))
    optim = build_optim_wrapper(model, dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4),
                                            paramwise_cfg=dict(custom_keys={'spynet': dict(lr_mult=0.125)})))
    spy = {id(p) for p in model.generator.spynet.parameters()}
    lrs = [g['lr'] for g in optim.param_groups if id(g['params'][0]) in spy]
    assert len(lrs) == 60 and lrs == pytest.approx([2.5e-5] * 60)  # 60 SPyNet tensors, one group each
    assert {g['lr'] for g in optim.param_groups if id(g['params'][0]) not in spy} == {2e-4}

    logs = []
    runner = SimpleNamespace(model=model, iter=0, logger=SimpleNamespace(info=logs.append))
    hook = HOOKS.build(dict(type='FreezeModuleHook', modules='generator.spynet', until_iter=2))
    hook.before_train(runner)
    batch = dict(inputs=torch.rand(1, 2, 3, 64, 64), data_samples=dict(gt=torch.rand(1, 2, 3, 256, 256)))
    spy_w = model.generator.spynet.basic_module[5].basic_module[0].weight
    trunk_w = model.generator.forward_trunk[0].weight
    for it in range(3):
        runner.iter = it
        hook.before_train_iter(runner, it, batch)
        before_spy, before_trunk = spy_w.detach().clone(), trunk_w.detach().clone()
        model.train_step(batch, optim)
        assert not torch.equal(before_trunk, trunk_w)
        assert torch.equal(before_spy, spy_w) == (it < 2), f'iteration {it}'
    assert len(logs) == 2 and 'frozen until iteration 2' in logs[0] and 'trainable' in logs[1]
    assert '1440300 parameters' in logs[0]


def test_resume_past_until_iter_and_errors():
    model = torch.nn.Module()
    model.generator = torch.nn.Module()
    model.generator.spynet = torch.nn.Conv2d(1, 1, 1)
    runner = SimpleNamespace(model=model, iter=7, logger=SimpleNamespace(info=lambda m: None))
    hook = FreezeModuleHook(until_iter=5)
    hook.before_train_iter(runner, 0)
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match=r"'generator.spynet' names no sub-module: the model has no child "
                                         r"'generator'; its children are \['net'\]"):
        bad = torch.nn.Module()
        bad.net = torch.nn.Conv2d(1, 1, 1)
        FreezeModuleHook().before_train(SimpleNamespace(model=bad))
    with pytest.raises(ValueError, match='until_iter must be an int >= 0'):
        FreezeModuleHook(until_iter=-1)
    with pytest.raises(ValueError, match='modules must be a dotted module path'):
        FreezeModuleHook(modules=[])
