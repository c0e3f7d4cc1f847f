"""``CPUAutocastOptimWrapper``: mixed precision on the CPU (``tools/train.py --amp`` without a GPU).

MMEngine's ``AmpOptimWrapper`` refuses to run without a GPU. On the CPU, autocast to bfloat16 needs no loss
scaling (bfloat16 has float32's exponent range), so this wrapper only runs the forward pass under
``torch.autocast('cpu', dtype=torch.bfloat16)``; parameters, gradients and the optimizer stay in float32.
Whether it is faster depends on the CPU (bfloat16 matrix instructions); it always runs.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from vidtoolbox.registry import OPTIM_WRAPPERS

__all__ = ['CPUAutocastOptimWrapper']

_DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16}


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` also enables CPU autocast.

    Args:
        dtype: ``'bfloat16'`` (default) or ``'float16'``.
        **kwargs: :class:`mmengine.optim.OptimWrapper` arguments (``optimizer``, ``clip_grad``, ...).
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs):
        kwargs.pop('loss_scale', None)  # no loss scaling on the CPU (accepted so AmpOptimWrapper configs work)
        super().__init__(**kwargs)
        if dtype not in _DTYPES:
            raise ValueError(f'CPUAutocastOptimWrapper: dtype must be one of {sorted(_DTYPES)}, got {dtype!r}')
        self.cast_dtype = _DTYPES[dtype]

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(device_type='cpu', dtype=self.cast_dtype):
            yield
