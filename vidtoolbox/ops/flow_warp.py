"""Backward warping by optical flow: THE flow convention of vidtoolbox.

Convention (used by every flow source, loss, alignment block and dataset of the toolbox):

* A flow field is a tensor ``(B, 2, H, W)`` in **pixels**; channel 0 is the horizontal
  displacement ``dx`` (towards +x, i.e. right), channel 1 the vertical displacement ``dy``
  (towards +y, i.e. down). Numpy flow fields in datasets are ``(H, W, 2)`` with the same channel order
  (the ``.flo`` / OpenCV order).
* ``flow(a, b)`` ("flow from a to b") gives, for every pixel ``p`` of image ``a``, the displacement to
  its correspondence in image ``b``: ``a(p) ≈ b(p + flow(a, b)(p))``.
* **Backward warp**: ``flow_warp(b, flow(a, b)) ≈ a``; the output lives on ``a``'s pixel grid and
  samples ``b`` at ``p + flow(p)`` bilinearly.
* Deformable-convolution offsets are the same displacements in ``(dy, dx)`` order (see
  :func:`vidtoolbox.ops.deform_conv2d`): an offset that aligns neighbour ``b`` to reference ``a`` is
  ``flow(a, b)`` with its two channels swapped.
"""
import torch
import torch.nn.functional as F

_PADDING_MODES = ('zeros', 'border', 'reflection')
_INTERP_MODES = ('bilinear', 'nearest', 'bicubic')


def base_grid(h: int, w: int, device=None, dtype=None) -> torch.Tensor:
    """Pixel-centre coordinates ``(1, 2, H, W)``: channel 0 is x (column), channel 1 is y (row)."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype),
                            torch.arange(w, device=device, dtype=dtype), indexing='ij')
    return torch.stack((xs, ys), 0).unsqueeze(0)


def flow_warp(x: torch.Tensor, flow: torch.Tensor, interpolation: str = 'bilinear',
              padding_mode: str = 'zeros', align_corners: bool = True) -> torch.Tensor:
    """Backward-warp ``x`` by ``flow``: ``out(p) = x(p + flow(p))``.

    Args:
        x: ``(B, C, H, W)`` image or feature map (any range).
        flow: ``(B, 2, H, W)`` (or ``(B, H, W, 2)``) flow in pixels, channels ``(dx, dy)``;
            ``flow = flow(ref, x)`` aligns ``x`` onto ``ref``.
        interpolation: ``'bilinear'`` | ``'nearest'`` | ``'bicubic'``.
        padding_mode: value outside ``x``: ``'zeros'`` | ``'border'`` | ``'reflection'``.
        align_corners: with ``True`` (default) pixel centres sit at integer coordinates
            ``0 … W-1``, so a zero flow is an exact identity and an integer flow an exact shift.

    Returns:
        ``(B, C, H, W)`` warped tensor, same dtype as ``x``.
    """
    if x.dim() != 4:
        raise ValueError(f'flow_warp: x must be (B, C, H, W), got shape {tuple(x.shape)}')
    if flow.dim() == 4 and flow.shape[-1] == 2 and flow.shape[1] != 2:
        flow = flow.permute(0, 3, 1, 2)
    if flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f'flow_warp: flow must be (B, 2, H, W), got shape {tuple(flow.shape)}')
    if flow.shape[0] != x.shape[0] or flow.shape[2:] != x.shape[2:]:
        raise ValueError(f'flow_warp: x {tuple(x.shape)} and flow {tuple(flow.shape)} disagree in batch '
                         'or spatial size; expected flow (B, 2, H, W) matching x (B, C, H, W)')
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f'flow_warp: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}')
    if interpolation not in _INTERP_MODES:
        raise ValueError(f'flow_warp: interpolation must be one of {_INTERP_MODES}, got {interpolation!r}')
    h, w = x.shape[-2:]
    coords = base_grid(h, w, device=flow.device, dtype=flow.dtype) + flow
    grid = pixel_to_grid(coords, h, w, align_corners)
    return F.grid_sample(x, grid.to(x.dtype), mode=interpolation, padding_mode=padding_mode,
                         align_corners=align_corners)


def pixel_to_grid(coords: torch.Tensor, h: int, w: int, align_corners: bool = True) -> torch.Tensor:
    """Absolute pixel coordinates ``(B, 2, H', W')`` (x, y) → ``grid_sample`` grid ``(B, H', W', 2)`` in [-1, 1]."""
    if align_corners:
        gx = 2.0 * coords[:, 0] / max(w - 1, 1) - 1.0
        gy = 2.0 * coords[:, 1] / max(h - 1, 1) - 1.0
    else:
        gx = (2.0 * coords[:, 0] + 1.0) / w - 1.0
        gy = (2.0 * coords[:, 1] + 1.0) / h - 1.0
    return torch.stack((gx, gy), dim=-1)


def resize_flow(flow: torch.Tensor, size, mode: str = 'bilinear') -> torch.Tensor:
    """Resize a ``(B, 2, H, W)`` pixel flow to ``size=(h, w)``, scaling dx by w/W and dy by h/H.

    ``mode`` is an :func:`torch.nn.functional.interpolate` mode (``'bilinear'``, ``'area'``, ``'nearest'``, ...) or
    ``'auto'``: ``'area'`` when shrinking both sides (the flow of a coarse pixel is the mean over its footprint),
    else ``'bilinear'``.
    """
    h, w = int(size[0]), int(size[1])
    H, W = flow.shape[-2:]
    if (h, w) == (H, W):
        return flow
    if mode == 'auto':
        mode = 'area' if h <= H and w <= W else 'bilinear'
    align = None if mode in ('nearest', 'area') else False
    out = F.interpolate(flow, size=(h, w), mode=mode, align_corners=align)
    scale = torch.tensor([w / W, h / H], dtype=flow.dtype, device=flow.device).view(1, 2, 1, 1)
    return out * scale
