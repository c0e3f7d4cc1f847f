"""Project-side fixes for library quirks (torch 2.13 with MMEngine 0.10.7).

torch >= 2.6 loads checkpoints with ``weights_only=True`` by default. MMEngine 0.10.7 saves its
``message_hub`` (``HistoryBuffer`` objects holding numpy arrays) into every checkpoint and loads with the
default, so ``--resume`` fails. Two fixes, both keeping ``weights_only=True`` in force (arbitrary pickles are
still refused):

* allow-list exactly the data types MMEngine itself writes (``HistoryBuffer``, numpy arrays, dtypes, scalars);
* ``HistoryBuffer.__getstate__`` pickles its statistics methods (``HistoryBuffer.min`` …) as
  ``getattr(HistoryBuffer, 'min')`` — a ``getattr`` global that must never be allow-listed. The built-in
  methods are re-created by ``__setstate__`` anyway, so we leave them out of the pickle (custom ones registered
  with ``HistoryBuffer.register_statistics`` are still written, as before).
"""
import numpy as np
import torch

_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')
_done = False


def _history_buffer_getstate(self) -> dict:
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    custom = {k: v for k, v in self._statistics_methods.items() if k not in _DEFAULT_STATISTICS}
    if custom:
        state['statistics_methods'] = custom
    return state


def register_checkpoint_safe_globals() -> None:
    """Make MMEngine's own checkpoints loadable under ``torch.load``'s ``weights_only=True`` default."""
    global _done
    if _done:
        return
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4: weights_only was not the default
        return
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    safe = [HistoryBuffer, np.ndarray, np.dtype]
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    safe += [_reconstruct, scalar]
    # numpy >= 1.25 pickles dtypes as instances of per-type classes (np.dtypes.Float64DType ...)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    add(safe)
    _done = True
