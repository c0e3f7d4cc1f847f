"""High-level APIs that tools/ call.

The video entry points are importable from here (loaded on first use, so ``import vidtoolbox.apis`` stays light):
:func:`restore_video` (super-resolution, :mod:`.restore`), :func:`predict_video` (:mod:`.predict`) and
:func:`interpolate_video` (:mod:`.interpolate`).
"""
import importlib

_LAZY = {'restore_video': 'restore', 'predict_video': 'predict', 'interpolate_video': 'interpolate'}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f'.{_LAZY[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
