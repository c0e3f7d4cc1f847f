"""Metrics (registered in METRICS)."""
from .metrics import *  # noqa: F401,F403
from .offset_stats import *  # noqa: F401,F403
