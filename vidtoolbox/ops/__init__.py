"""Pure tensor functions: no registry, no state. See :mod:`vidtoolbox.ops.flow_warp` for the flow convention."""
from .flow_warp import base_grid, flow_warp, pixel_to_grid, resize_flow
from .deform_conv import *  # noqa: F401,F403
from .imresize import *  # noqa: F401,F403
from .splat import *  # noqa: F401,F403
from .flow_fill import *  # noqa: F401,F403
from .blur_down import *  # noqa: F401,F403
