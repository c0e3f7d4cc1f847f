"""vidtoolbox: a plugin-based video restoration toolbox on MMEngine."""
from .version import __version__
from .utils.compat import register_checkpoint_safe_globals

register_checkpoint_safe_globals()

__all__ = ['__version__']
