"""Datasets (registered in DATASETS) and transforms (registered in TRANSFORMS)."""
from . import transforms  # noqa: F401
from .base import *  # noqa: F401,F403
from .synthetic import *  # noqa: F401,F403
from .reds import *  # noqa: F401,F403
from .vimeo90k import *  # noqa: F401,F403
from .frames_folder import *  # noqa: F401,F403
