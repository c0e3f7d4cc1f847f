"""Project-side fixes for library quirks (REFERENCE §5).

torch >= 2.6 loads checkpoints with ``weights_only=True`` by default. MMEngine 0.10.7 saves its
``message_hub`` (``HistoryBuffer`` objects holding numpy arrays) into every checkpoint and loads with the
default, so ``--resume`` fails. We allow-list exactly the classes MMEngine itself writes, which keeps
``weights_only=True`` in force (arbitrary pickles are still refused).
"""
import numpy as np
import torch


def register_checkpoint_safe_globals() -> None:
    """Allow-list the (non-code) types found in MMEngine's own checkpoints for ``weights_only`` loading."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4: weights_only was not the default
        return
    from mmengine.logging.history_buffer import HistoryBuffer
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
