"""Pure tensor functions: no registry, no state. See :mod:`vidtoolbox.ops.flow_warp` for the flow convention."""
from .flow_warp import base_grid, flow_warp, pixel_to_grid, resize_flow

__all__ = ['base_grid', 'flow_warp', 'pixel_to_grid', 'resize_flow']
