"""Networks (generators): one per file."""
from .edvr import *  # noqa: F401,F403
from .ifnet import *  # noqa: F401,F403
from .tsa import TSAFusion  # noqa: F401
