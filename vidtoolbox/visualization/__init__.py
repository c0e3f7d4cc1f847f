"""Visualisation: flow/offset colour coding, heatmaps, comparison grids."""
from .flow_vis import *  # noqa: F401,F403
from .offset_vis import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
