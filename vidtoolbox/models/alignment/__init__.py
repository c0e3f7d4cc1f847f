"""Alignment blocks: one per file, all following :mod:`.base`'s interface."""
from .base import (AlignCaps, BaseAlignment, alignment_caps, alignment_record, fill_alignment_cfg,  # noqa: F401
                   resolve_block_class, build_network_flow_source)
from .dcnv2 import *  # noqa: F401,F403
from .pcd import *  # noqa: F401,F403
from .flow_warp_align import *  # noqa: F401,F403
from .n_offset import *  # noqa: F401,F403
from .multi_spynet import *  # noqa: F401,F403
from .flow_guided_dcn import *  # noqa: F401,F403
