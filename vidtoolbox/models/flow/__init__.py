"""Flow sources: ``flow(src, dst) -> (B, 2, H, W)`` in the convention of :mod:`vidtoolbox.ops.flow_warp`."""
from .base import *  # noqa: F401,F403
from .spynet import *  # noqa: F401,F403
from .gt import *  # noqa: F401,F403
from .dis import *  # noqa: F401,F403
from .file_flow import *  # noqa: F401,F403
