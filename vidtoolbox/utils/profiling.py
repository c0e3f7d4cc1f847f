"""Helpers for measuring with ``torch.profiler`` quietly."""
import os

__all__ = ['quiet_profiler']


def quiet_profiler() -> None:
    """Silence the profiler backend's (kineto's) own log lines (``USDT: ... profiler_start`` / ``profiler_stop``
    printed on every profile). Must run before the first profile of the process; explicit settings are kept."""
    os.environ.setdefault('KINETO_LOG_LEVEL', '99')
