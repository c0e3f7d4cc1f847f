"""Engine extensions: the runner with a readable console, hooks."""
from .hooks import *  # noqa: F401,F403
from .runner import *  # noqa: F401,F403
from .optim_wrapper import *  # noqa: F401,F403
