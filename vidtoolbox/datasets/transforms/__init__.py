"""Data transforms (mmcv ``BaseTransform``), registered in TRANSFORMS."""
from .loading import *  # noqa: F401,F403
from .crop import *  # noqa: F401,F403
from .flip import *  # noqa: F401,F403
from .pack import *  # noqa: F401,F403
from .estimate_ref_flows import *  # noqa: F401,F403
from .load_ref_flows import *  # noqa: F401,F403
