"""Engine extensions: hooks, model wrappers, loops."""
from .hooks import *  # noqa: F401,F403
