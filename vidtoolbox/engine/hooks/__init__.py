"""Training hooks (registered in HOOKS)."""
from .offset_monitor import *  # noqa: F401,F403
