"""``FreezeModuleHook``: keep sub-modules of the model frozen for the first iterations of training.

BasicVSR ("BasicVSR: The Search for Essential Components in Video Super-Resolution and Beyond", CVPR 2021) trains
its pretrained SPyNet only after the first 5000 iterations, so the randomly initialised propagation branches do
not drive the flow network away from useful flow at the start::

    custom_hooks = [dict(type='FreezeModuleHook', modules='generator.spynet', until_iter=5000)]

While frozen, the parameters get ``requires_grad=False``: no gradient is computed for them and the optimizer skips
them (Adam's moment estimates stay untouched, unlike a zero learning rate). The state is set before every training
iteration from ``runner.iter``, so resuming a run past ``until_iter`` trains the modules at once. Under
distributed training the model wrapper needs ``find_unused_parameters=True`` (the frozen parameters get no
gradient), e.g. ``model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)``.
"""
from typing import Optional, Sequence, Union

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from vidtoolbox.registry import HOOKS

__all__ = ['FreezeModuleHook']


@HOOKS.register_module()
class FreezeModuleHook(Hook):
    """Freeze the parameters of ``modules`` while ``runner.iter < until_iter``, then train them.

    Args:
        modules: dotted path(s) of sub-modules of the model (the task head), e.g. ``'generator.spynet'``.
        until_iter: first iteration (0-based) at which the modules train; 0 never freezes.

    Raises:
        ValueError: bad arguments, or (at the start of training) a path that names no sub-module (the message lists
            the names that exist at the first missing level).
    """

    priority = 'VERY_HIGH'

    def __init__(self, modules: Union[str, Sequence[str]] = 'generator.spynet', until_iter: int = 5000):
        names = [modules] if isinstance(modules, str) else list(modules)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f'FreezeModuleHook: modules must be a dotted module path or a list of them, '
                             f'got {modules!r}')
        if isinstance(until_iter, bool) or not isinstance(until_iter, int) or until_iter < 0:
            raise ValueError(f'FreezeModuleHook: until_iter must be an int >= 0, got {until_iter!r}')
        self.module_names = names
        self.until_iter = until_iter
        self._frozen: Optional[bool] = None

    @staticmethod
    def _resolve(model: nn.Module, path: str) -> nn.Module:
        module = model
        for i, part in enumerate(path.split('.')):
            children = dict(module.named_children())
            if part not in children:
                where = '.'.join(path.split('.')[:i]) or 'the model'
                raise ValueError(f'FreezeModuleHook: {path!r} names no sub-module: {where} has no child {part!r}; '
                                 f'its children are {sorted(children)}')
            module = children[part]
        return module

    def _modules(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return [self._resolve(model, name) for name in self.module_names]

    def set_frozen(self, runner, frozen: bool) -> None:
        """Set ``requires_grad = not frozen`` on every parameter of the modules (logged when it changes)."""
        count = 0
        for module in self._modules(runner):
            for p in module.parameters():
                p.requires_grad_(not frozen)
                count += p.numel()
        if frozen != self._frozen:
            state = f'frozen until iteration {self.until_iter}' if frozen else 'trainable'
            runner.logger.info(f'FreezeModuleHook: {self.module_names} ({count} parameters) {state} '
                               f'(iteration {runner.iter})')
        self._frozen = frozen

    def before_train(self, runner) -> None:
        self._modules(runner)  # fail early on a wrong path

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        frozen = runner.iter < self.until_iter
        if frozen != self._frozen:
            self.set_frozen(runner, frozen)
