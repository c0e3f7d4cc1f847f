"""Forward (push) splatting and flow reversal.

Convention reminder (see :mod:`vidtoolbox.ops.flow_warp`): ``flow(a, b)`` is defined on ``a``'s pixel
grid and says where each pixel ``p`` of ``a`` is found in ``b``: ``a(p) ≈ b(p + flow(a, b)(p))``.
Read as a motion field, ``flow(a, b)`` therefore *is* the forward motion of ``a``'s pixels: pixel ``p``
of ``a`` moves to ``p + flow(a, b)(p)`` in ``b``. Backward warping (:func:`flow_warp`) *pulls* values
along such a field; the functions here *push* them, which is what is needed to move a field defined on
``a``'s grid onto ``b``'s grid:

* :func:`forward_splat` pushes any per-pixel values of ``a`` to ``b``'s grid.
* :func:`flow_reversal` turns ``flow(a, b)`` (on ``a``'s grid) into ``flow(b, a)`` (on ``b``'s grid) by
  pushing ``-flow(a, b)(p)`` to ``p + flow(a, b)(p)`` (the "flow reversal layer" of Xu et al., 2019).
"""
import torch

__all__ = ['forward_splat', 'flow_reversal']


def _check_flow(name: str, flow: torch.Tensor) -> None:
    if not isinstance(flow, torch.Tensor) or flow.dim() != 4 or flow.shape[1] != 2:
        shape = tuple(flow.shape) if isinstance(flow, torch.Tensor) else type(flow).__name__
        raise ValueError(f'{name}: flow must be a (B, 2, H, W) tensor of pixel displacements (dx, dy), got {shape}')
    if not torch.is_floating_point(flow):
        raise TypeError(f'{name}: flow must be a floating-point tensor, got dtype {flow.dtype}')


def forward_splat(values: torch.Tensor, flow: torch.Tensor, eps: float = 1e-6):
    """Bilinear forward splatting: every source pixel pushes its value to ``p + flow(p)``.

    Each source pixel ``p`` with target position ``q = p + flow(p)`` (continuous, pixel units, pixel
    centres at integer coordinates ``0 … W-1`` / ``0 … H-1``) distributes its value to the four integer
    pixels around ``q`` with bilinear weights ``(1 - |qx - x|)(1 - |qy - y|)``; contributions falling
    outside the image are dropped. The result is the weighted sum divided by the accumulated weight,
    so a constant field stays exactly constant wherever something lands.

    The operation is differentiable with respect to ``values`` and ``flow`` (through the bilinear
    weights; the integer neighbour choice is piecewise constant).

    Args:
        values: ``(B, C, H, W)`` values living on the source grid (any range).
        flow: ``(B, 2, H, W)`` forward displacement of every source pixel in pixels, channels
            ``(dx, dy)``; in the toolbox convention this is ``flow(source, target)``.
        eps: accumulated weights ``<= eps`` are treated as empty: the output there is 0.

    Returns:
        tuple ``(out, weight)``: ``out`` ``(B, C, H, W)`` normalised splat (0 where ``weight <= eps``),
        ``weight`` ``(B, 1, H, W)`` accumulated bilinear weight received by every target pixel
        (≈ 1 where exactly one layer of pixels lands, > 1 where several collide, 0 in holes).
    """
    _check_flow('forward_splat', flow)
    if not isinstance(values, torch.Tensor) or values.dim() != 4:
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ValueError(f'forward_splat: values must be a (B, C, H, W) tensor, got {shape}')
    if values.shape[0] != flow.shape[0] or values.shape[2:] != flow.shape[2:]:
        raise ValueError(f'forward_splat: values {tuple(values.shape)} and flow {tuple(flow.shape)} disagree in '
                         'batch or spatial size; expected values (B, C, H, W) and flow (B, 2, H, W)')
    b, c, h, w = values.shape
    dtype = torch.promote_types(values.dtype, flow.dtype)
    values = values.to(dtype)
    flow = flow.to(dtype)
    ys, xs = torch.meshgrid(torch.arange(h, device=flow.device, dtype=dtype),
                            torch.arange(w, device=flow.device, dtype=dtype), indexing='ij')
    qx = xs.unsqueeze(0) + flow[:, 0]  # (B, H, W)
    qy = ys.unsqueeze(0) + flow[:, 1]
    x0 = torch.floor(qx.detach())
    y0 = torch.floor(qy.detach())
    fx = qx - x0
    fy = qy - y0
    acc = values.new_zeros(b, c + 1, h * w)
    src = torch.cat([values, values.new_ones(b, 1, h, w)], 1).reshape(b, c + 1, h * w)
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        xi = x0 + dx
        yi = y0 + dy
        wx = fx if dx else 1.0 - fx
        wy = fy if dy else 1.0 - fy
        wgt = wx * wy
        inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
        wgt = torch.where(inside, wgt, torch.zeros_like(wgt)).reshape(b, 1, h * w)
        idx = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).long().reshape(b, 1, h * w).expand(b, c + 1, h * w)
        acc = acc.scatter_add(2, idx, src * wgt)
    acc = acc.reshape(b, c + 1, h, w)
    weight = acc[:, c:]
    filled = weight > eps
    out = torch.where(filled, acc[:, :c] / torch.where(filled, weight, torch.ones_like(weight)),
                      torch.zeros_like(acc[:, :c]))
    return out, weight


def flow_reversal(flow: torch.Tensor, eps: float = 0.05):
    """Reverse a forward motion field by forward splatting: ``flow(a, b)`` → ``flow(b, a)``.

    Input ``flow`` lives on ``a``'s grid: pixel ``p`` of ``a`` moves to ``p + flow(p)`` in ``b``. In the
    toolbox convention that is exactly ``flow(a, b)``. Every pixel pushes the displacement ``-flow(p)``
    to its landing point ``p + flow(p)`` (bilinear splat, normalised by accumulated weight), giving on
    ``b``'s grid the displacement back to ``a``, i.e. ``flow(b, a)``, so that
    ``flow_warp(a, flow_reversal(flow(a, b))[0]) ≈ b`` wherever ``b``'s pixels are visible in ``a``.

    A pure translation ``flow ≡ v`` reverses exactly to ``-v`` (normalisation removes the bilinear
    weights) on every pixel that receives something.

    Hole handling: pixels of ``b`` receiving an accumulated weight ``<= eps`` (disoccluded regions, the
    border that enters the view) are *holes*: their returned flow is 0 and ``valid`` is 0 there. Fill
    them with :func:`vidtoolbox.ops.fill_flow` (``fill_flow(rev, valid)``). Where several source pixels
    collide (occlusions) their displacements are averaged with their bilinear weights.

    Args:
        flow: ``(B, 2, H, W)`` ``flow(a, b)`` in pixels, channels ``(dx, dy)``.
        eps: accumulated-weight threshold below which a target pixel is a hole.

    Returns:
        tuple ``(flow_ba, valid)``: ``flow_ba`` ``(B, 2, H, W)`` = ``flow(b, a)`` on ``b``'s grid (0 in
        holes); ``valid`` ``(B, 1, H, W)`` float, 1 where the pixel received weight ``> eps``, else 0.
    """
    _check_flow('flow_reversal', flow)
    if eps < 0:
        raise ValueError(f'flow_reversal: eps must be >= 0, got {eps}')
    rev, weight = forward_splat(-flow, flow, eps=eps)
    valid = (weight > eps).to(rev.dtype)
    return rev, valid
