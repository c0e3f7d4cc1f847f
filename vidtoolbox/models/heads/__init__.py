"""Task heads: MMEngine ``BaseModel`` wrappers owning a generator, loss plugins and a data preprocessor."""
from .base_head import BaseTaskHead  # noqa: F401
from .video_sr import *  # noqa: F401,F403
from .vfi_opt import *  # noqa: F401,F403
from .prediction import *  # noqa: F401,F403
from .interpolation import *  # noqa: F401,F403
