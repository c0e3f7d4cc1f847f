"""Test hook: after training every rank saves its own copy of the weights (to compare ranks), and the first draws
of its random generators at the start of training (to compare the ranks' augmentation streams)."""
import os.path as osp
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from vidtoolbox.registry import HOOKS


@HOOKS.register_module()
class RankWeightsDumpHook(Hook):
    def __init__(self):
        self.start = None

    def before_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.start = {k: v.detach().clone() for k, v in model.state_dict().items()}
        state = (random.getstate(), np.random.get_state(), torch.get_rng_state())
        self.draws = (random.random(), float(np.random.rand()), float(torch.rand(1)))
        random.setstate(state[0])
        np.random.set_state(state[1])
        torch.set_rng_state(state[2])

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        changed = sum(int(not torch.equal(state[k], self.start[k])) for k in state)
        torch.save(dict(state=state, start=self.start, changed=changed, iter=runner.iter, world_size=runner.world_size,
                        draws=self.draws), osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
