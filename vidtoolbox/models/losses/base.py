"""The loss-plugin interface.

A loss plugin is a registered ``nn.Module`` that names the inputs it consumes from the task head's
*context* and returns a scalar (already multiplied by ``loss_weight``)::

    loss = plugin(ctx)          # ctx: dict built by the head, see below

``inputs`` maps the plugin's ``forward`` argument names to context keys; defaults come from the class
attribute ``default_inputs`` and a config can remap them, e.g.
``dict(type='CharbonnierLoss', inputs=dict(pred='pred', target='gt'))``.

Context keys provided by the task heads (all tensors batched, images in [0, 1] RGB):
    ``pred``: the generator output, ``target`` / ``gt``: the ground truth it is compared with
    (same shape as ``pred``), ``lq``: the network input, ``aux``: the generator's aux dict,
    ``alignments``: list of alignment records (see :mod:`vidtoolbox.models.archs.edvr`),
    ``data_samples``: the batched sample dict, plus every key of that dict (``ref_flows``, ...).
"""
import torch
import torch.nn as nn

_REDUCTIONS = ('mean', 'sum', 'none')


def reduce_loss(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce an element-wise loss with ``'mean'`` | ``'sum'`` | ``'none'``."""
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    if reduction == 'none':
        return loss
    raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')


class BaseLoss(nn.Module):
    """Base class of loss plugins.

    Args:
        loss_weight: multiplier applied to the returned loss.
        loss_name: the name the head logs it under (defaults to the class's ``default_name``).
        inputs: ``{forward_arg: context_key}`` overriding ``default_inputs``.
    """

    default_inputs = dict(pred='pred', target='target')
    default_name = 'loss'

    def __init__(self, loss_weight: float = 1.0, loss_name: str = None, inputs: dict = None):
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.loss_name = loss_name or self.default_name
        if not self.loss_name.startswith('loss'):
            raise ValueError(f'{type(self).__name__}: loss_name must start with "loss" so MMEngine counts it '
                             f'in the total loss, got {self.loss_name!r}')
        self.inputs = dict(self.default_inputs)
        if inputs is not None:
            unknown = set(inputs) - set(self.default_inputs)
            if unknown:
                raise ValueError(f'{type(self).__name__}: unknown input names {sorted(unknown)}; '
                                 f'expected a subset of {sorted(self.default_inputs)}')
            self.inputs.update(inputs)

    def gather(self, ctx: dict) -> dict:
        """Pick this loss's arguments out of the head's context, with a clear error for missing keys."""
        kwargs = {}
        for arg, key in self.inputs.items():
            if key not in ctx:
                raise KeyError(f'{type(self).__name__} ({self.loss_name}) needs context key {key!r} for its '
                               f'argument {arg!r}, but the head provides only {sorted(ctx)}')
            kwargs[arg] = ctx[key]
        return kwargs

    def __call__(self, *args, **kwargs):
        # plugin(ctx) -> gather inputs by name; plugin(pred=..., target=...) -> direct call
        if len(args) == 1 and not kwargs and isinstance(args[0], dict):
            return super().__call__(**self.gather(args[0]))
        return super().__call__(*args, **kwargs)
