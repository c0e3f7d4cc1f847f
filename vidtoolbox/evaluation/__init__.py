"""Metrics (registered in METRICS)."""
from .metrics import *  # noqa: F401,F403
