from .compat import register_checkpoint_safe_globals
from .errors import DatasetNotFoundError, UserInputError

__all__ = ['register_checkpoint_safe_globals', 'DatasetNotFoundError', 'UserInputError']
