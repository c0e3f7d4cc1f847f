"""Training hooks (registered in HOOKS)."""
from .checkpoint import *  # noqa: F401,F403
from .freeze_module import *  # noqa: F401,F403
from .offset_monitor import *  # noqa: F401,F403
