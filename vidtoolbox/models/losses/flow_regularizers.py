"""Flow regularisers for correspondence-wise losses (Correspondence-wise losses, §3.1, eq. 3).

``L_reg(u) = λ1 · magnitude(u) + λ2 · smoothness(u)``; the paper's tuned weights for an L1 base loss are
λ1 = 9.0, λ2 = 4.5 (with the plain flow-gradient norm instead of the edge-aware one). They only make sense when
the flow is a differentiable function of the prediction (a differentiable flow source such as ``SPyNetFlow``
and ``detach_flow=False`` in :class:`~vidtoolbox.models.losses.CorrespondenceWiseLoss`).

Flows are ``(B, 2, H, W)`` in pixels, channels ``(dx, dy)`` (:mod:`vidtoolbox.ops.flow_warp`).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.registry import MODELS

__all__ = ['flow_magnitude', 'flow_smoothness', 'sobel_gradients', 'FlowMagnitudeRegularizer',
           'FlowSmoothnessRegularizer']


def _check_flow(name: str, flow: torch.Tensor) -> None:
    if not isinstance(flow, torch.Tensor) or flow.dim() != 4 or flow.shape[1] != 2:
        shape = tuple(flow.shape) if isinstance(flow, torch.Tensor) else type(flow).__name__
        raise ValueError(f'{name}: flow must be a (B, 2, H, W) tensor (dx, dy in pixels), got {shape}')


def flow_magnitude(flow: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """Mean p-norm of the size-normalised flow.

    ``u_x = dx / (W − 1)``, ``u_y = dy / (H − 1)`` (a displacement across the whole image is 1), then
    ``mean_{b,i,j} (|u_x|^p + |u_y|^p)^(1/p)``.

    Args:
        flow: ``(B, 2, H, W)`` pixels, ``(dx, dy)``.
        p: norm order over the two channels (> 0).

    Returns:
        scalar tensor.
    """
    _check_flow('flow_magnitude', flow)
    if not p > 0:
        raise ValueError(f'flow_magnitude: p must be > 0, got {p!r}')
    h, w = flow.shape[-2:]
    norm = flow.new_tensor([max(w - 1, 1), max(h - 1, 1)]).view(1, 2, 1, 1)
    return torch.linalg.vector_norm(flow / norm, ord=p, dim=1).mean()


def sobel_gradients(x: torch.Tensor):
    """Sobel derivatives of every channel of ``x`` ``(B, C, H, W)`` (replicate padding, same size).

    The kernels are divided by 8, so a linear ramp ``x(i, j) = a·j + b·i`` has ``∂x = a``, ``∂y = b`` exactly.

    Returns:
        ``(gx, gy)``, each ``(B, C, H, W)``: derivative along the width (x) and the height (y).
    """
    c = x.shape[1]
    kx = x.new_tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
    weight = torch.stack((kx, kx.t()), 0).unsqueeze(1).repeat(c, 1, 1, 1)  # (2C, 1, 3, 3): per channel gx, gy
    g = F.conv2d(F.pad(x, (1, 1, 1, 1), mode='replicate'), weight, groups=c)
    return g[:, 0::2], g[:, 1::2]


def flow_smoothness(flow: torch.Tensor, image: Optional[torch.Tensor] = None, edge_aware: bool = False,
                    edge_constant: float = 150.0) -> torch.Tensor:
    """First-order flow smoothness: mean absolute Sobel gradient of the flow, optionally edge-aware.

    ``mean_{b,c,i,j} (w_x · |∂x u_c| + w_y · |∂y u_c|) / 2`` with ``w = 1`` or, edge-aware,
    ``w_x = exp(−edge_constant · mean_k |∂x I_k|)`` (same for y) from the Sobel gradients of the image ``I`` on
    whose grid the flow lives (Jonschkowski et al., 2020).

    Args:
        flow: ``(B, 2, H, W)`` pixels.
        image: ``(B, C, H, W)`` image in [0, 1] (required when ``edge_aware``); not differentiated through.
        edge_aware: weight by image edges.
        edge_constant: edge sharpness of the weights.

    Returns:
        scalar tensor (pixels per pixel).
    """
    _check_flow('flow_smoothness', flow)
    gx, gy = sobel_gradients(flow)
    if not edge_aware:
        return 0.5 * (gx.abs().mean() + gy.abs().mean())
    if image is None:
        raise ValueError('flow_smoothness: edge_aware=True needs the image the flow lives on')
    if image.dim() != 4 or image.shape[0] != flow.shape[0] or image.shape[-2:] != flow.shape[-2:]:
        raise ValueError(f'flow_smoothness: image {tuple(image.shape)} must be (B, C, H, W) matching the flow '
                         f'{tuple(flow.shape)} in batch and size')
    with torch.no_grad():
        ix, iy = sobel_gradients(image.detach())
        wx = torch.exp(-edge_constant * ix.abs().mean(1, keepdim=True))
        wy = torch.exp(-edge_constant * iy.abs().mean(1, keepdim=True))
    return 0.5 * ((wx * gx.abs()).mean() + (wy * gy.abs()).mean())


@MODELS.register_module()
class FlowMagnitudeRegularizer(nn.Module):
    """``weight · flow_magnitude(flow, p)`` (see :func:`flow_magnitude`).

    Args:
        weight: λ1 (the paper's tuned value for L1 is 9.0).
        p: norm order over the flow channels (2: Euclidean).

    Forward:
        flow ``(B, 2, H, W)`` pixels; image (ignored).
    """

    def __init__(self, weight: float = 1.0, p: float = 2.0):
        super().__init__()
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
            raise ValueError(f'FlowMagnitudeRegularizer: weight must be a number >= 0, got {weight!r}')
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not p > 0:
            raise ValueError(f'FlowMagnitudeRegularizer: p must be a number > 0, got {p!r}')
        self.weight, self.p = float(weight), float(p)

    def forward(self, flow: torch.Tensor, image: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.weight * flow_magnitude(flow, self.p)

    def extra_repr(self) -> str:
        return f'weight={self.weight}, p={self.p}'


@MODELS.register_module()
class FlowSmoothnessRegularizer(nn.Module):
    """``weight · flow_smoothness(flow, image, edge_aware, edge_constant)`` (see :func:`flow_smoothness`).

    Args:
        weight: λ2 (the paper's tuned value for L1 is 4.5, non-edge-aware).
        edge_aware: weight by the edges of the image the flow lives on.
        edge_constant: edge sharpness.

    Forward:
        flow ``(B, 2, H, W)`` pixels; image ``(B, C, H, W)`` in [0, 1] (needed when edge-aware).
    """

    def __init__(self, weight: float = 1.0, edge_aware: bool = False, edge_constant: float = 150.0):
        super().__init__()
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
            raise ValueError(f'FlowSmoothnessRegularizer: weight must be a number >= 0, got {weight!r}')
        if not edge_constant > 0:
            raise ValueError(f'FlowSmoothnessRegularizer: edge_constant must be > 0, got {edge_constant!r}')
        self.weight, self.edge_aware, self.edge_constant = float(weight), bool(edge_aware), float(edge_constant)

    def forward(self, flow: torch.Tensor, image: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.weight * flow_smoothness(flow, image, self.edge_aware, self.edge_constant)

    def extra_repr(self) -> str:
        return f'weight={self.weight}, edge_aware={self.edge_aware}, edge_constant={self.edge_constant}'
