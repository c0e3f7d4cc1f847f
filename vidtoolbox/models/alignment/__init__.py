"""Alignment blocks: one per file, all following :mod:`.base`'s interface."""
from .base import BaseAlignment
from .dcnv2 import *  # noqa: F401,F403
from .pcd import *  # noqa: F401,F403
from .flow_warp_align import *  # noqa: F401,F403
from .n_offset import *  # noqa: F401,F403
from .multi_spynet import *  # noqa: F401,F403
