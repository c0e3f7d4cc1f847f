"""Forward–backward flow consistency and filling ("inpainting") of unreliable flow.

Flow convention: :mod:`vidtoolbox.ops.flow_warp` (``flow(a, b)`` on ``a``'s grid, ``a(p) ≈ b(p + flow(a, b)(p))``).
"""
import torch
import torch.nn.functional as F

from .flow_warp import flow_warp

__all__ = ['consistency_error', 'consistency_mask', 'fill_flow']

_FILL_METHODS = ('idw', 'harmonic')


def _check_pair(name, f_ab, f_ba):
    for n, f in (('f_ab', f_ab), ('f_ba', f_ba)):
        if not isinstance(f, torch.Tensor) or f.dim() != 4 or f.shape[1] != 2:
            shape = tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__
            raise ValueError(f'{name}: {n} must be a (B, 2, H, W) flow tensor (dx, dy) in pixels, got {shape}')
    if f_ab.shape != f_ba.shape:
        raise ValueError(f'{name}: f_ab {tuple(f_ab.shape)} and f_ba {tuple(f_ba.shape)} must have the same shape')


def consistency_error(f_ab: torch.Tensor, f_ba: torch.Tensor) -> torch.Tensor:
    """Forward–backward round-trip error ``|f_ab(p) + f_ba(p + f_ab(p))|₁`` on ``a``'s grid.

    Pixel ``p`` of ``a`` goes to ``p' = p + f_ab(p)`` in ``b`` and back to ``p' + f_ba(p')`` in ``a``;
    the error is the L1 distance (``|dx| + |dy|``, pixels) between ``p`` and that round-trip end point,
    i.e. ``|f_ab + flow_warp(f_ba, f_ab)|`` summed over the two channels (``f_ba`` sampled bilinearly,
    border-replicated outside ``b``). Differentiable in both flows.

    Args:
        f_ab: ``(B, 2, H, W)`` ``flow(a, b)`` in pixels.
        f_ba: ``(B, 2, H, W)`` ``flow(b, a)`` in pixels.

    Returns:
        ``(B, 1, H, W)`` error in pixels (≥ 0); 0 for an exact inverse pair.
    """
    _check_pair('consistency_error', f_ab, f_ba)
    back = flow_warp(f_ba, f_ab, padding_mode='border')
    return (f_ab + back).abs().sum(1, keepdim=True)


def consistency_mask(f_ab: torch.Tensor, f_ba: torch.Tensor, alpha: float = 1.5,
                     check_bounds: bool = True) -> torch.Tensor:
    """Mask of reliable pixels of ``a`` by the forward–backward consistency check.

    Pixel ``p`` of ``a`` is *reliable* (mask 1) when ``consistency_error(f_ab, f_ba)(p) <= alpha`` and,
    with ``check_bounds``, its target ``p + f_ab(p)`` lies inside ``b`` (``0 <= x <= W-1``,
    ``0 <= y <= H-1``); otherwise it is unreliable (mask 0: occluded, leaving the view, or a flow error).
    This is ``1 - φ`` of the VFI-opt paper (eq. 12, ``α = 1.5``).

    Args:
        f_ab: ``(B, 2, H, W)`` ``flow(a, b)`` in pixels.
        f_ba: ``(B, 2, H, W)`` ``flow(b, a)`` in pixels.
        alpha: threshold on the L1 round-trip error, pixels (> 0).
        check_bounds: also mark pixels whose target falls outside ``b`` as unreliable.

    Returns:
        ``(B, 1, H, W)`` float mask, 1 = reliable, 0 = unreliable (not differentiable).
    """
    if not alpha > 0:
        raise ValueError(f'consistency_mask: alpha must be a positive threshold in pixels, got {alpha}')
    with torch.no_grad():
        err = consistency_error(f_ab, f_ba)
        valid = err <= alpha
        if check_bounds:
            h, w = f_ab.shape[-2:]
            ys, xs = torch.meshgrid(torch.arange(h, device=f_ab.device, dtype=f_ab.dtype),
                                    torch.arange(w, device=f_ab.device, dtype=f_ab.dtype), indexing='ij')
            tx = xs + f_ab[:, 0:1]
            ty = ys + f_ab[:, 1:2]
            valid = valid & (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
    return valid.to(f_ab.dtype)


def _idw_kernel(radius: int, power: float, dtype, device) -> torch.Tensor:
    r = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    d = torch.sqrt(r.view(-1, 1) ** 2 + r.view(1, -1) ** 2)
    k = torch.where(d > 0, d.clamp_min(1e-6) ** (-power), torch.zeros_like(d))
    k = torch.where(d <= radius, k, torch.zeros_like(k))
    return k.view(1, 1, 2 * radius + 1, 2 * radius + 1)


def _push_pull(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Fill ``x`` where ``m == 0`` with mask-weighted averages from a coarse-to-fine pyramid."""
    if min(x.shape[-2:]) <= 1 or m.sum() == 0:
        return x
    xs = F.avg_pool2d(x * m, 2, ceil_mode=True)
    ms = F.avg_pool2d(m, 2, ceil_mode=True)
    coarse = torch.where(ms > 0, xs / ms.clamp_min(1e-12), torch.zeros_like(xs))
    coarse = _push_pull(coarse, (ms > 0).to(m.dtype))
    up = F.interpolate(coarse, size=x.shape[-2:], mode='nearest')
    return torch.where(m > 0, x, up)


def fill_flow(flow: torch.Tensor, valid_mask: torch.Tensor, method: str = 'idw', radius: int = 5,
              power: float = 2.0, iters: int = 50) -> torch.Tensor:
    """Replace unreliable flow vectors by values interpolated from valid neighbours.

    Valid pixels (``valid_mask > 0.5``) are returned unchanged; invalid ones are filled with

    * ``'idw'`` (the VFI-opt paper): inverse-distance weighting over the valid pixels within a disc of
      ``radius`` pixels, weights ``1 / d**power`` (``d`` Euclidean distance, pixels). Invalid pixels
      with no valid pixel within the disc (large holes) get the value of a push–pull fill (mask-weighted
      averages on a ×2 pyramid, propagated back coarse-to-fine), so every pixel is filled.
    * ``'harmonic'``: a Laplace (membrane) fill — the holes solve ``Δu = 0`` with the valid pixels as
      Dirichlet boundary values (and zero-flux image borders), by ``iters`` Jacobi sweeps started from
      the push–pull fill.

    Both reproduce a constant field exactly, and a linear field exactly when holes are surrounded by
    valid pixels (``'harmonic'`` after convergence). An image with no valid pixel at all is filled with 0.

    Args:
        flow: ``(B, 2, H, W)`` flow in pixels (any field ``(B, C, H, W)`` works the same way).
        valid_mask: ``(B, 1, H, W)`` (or ``(B, H, W)``), 1 = reliable, 0 = fill; bool or float.
        method: ``'idw'`` | ``'harmonic'``.
        radius: IDW disc radius in pixels (≥ 1).
        power: IDW distance exponent (> 0).
        iters: Jacobi sweeps of the harmonic fill (≥ 0).

    Returns:
        ``(B, C, H, W)`` filled flow, same dtype as ``flow``. Differentiable w.r.t. ``flow``.
    """
    if not isinstance(flow, torch.Tensor) or flow.dim() != 4:
        shape = tuple(flow.shape) if isinstance(flow, torch.Tensor) else type(flow).__name__
        raise ValueError(f'fill_flow: flow must be a (B, C, H, W) tensor, got {shape}')
    if not isinstance(valid_mask, torch.Tensor):
        raise TypeError(f'fill_flow: valid_mask must be a tensor, got {type(valid_mask).__name__}')
    if valid_mask.dim() == 3:
        valid_mask = valid_mask.unsqueeze(1)
    if (valid_mask.dim() != 4 or valid_mask.shape[1] != 1 or valid_mask.shape[0] != flow.shape[0]
            or valid_mask.shape[2:] != flow.shape[2:]):
        raise ValueError(f'fill_flow: valid_mask must be (B, 1, H, W) matching flow {tuple(flow.shape)}, '
                         f'got {tuple(valid_mask.shape)}')
    if method not in _FILL_METHODS:
        raise ValueError(f'fill_flow: method must be one of {_FILL_METHODS}, got {method!r}')
    if int(radius) < 1:
        raise ValueError(f'fill_flow: radius must be >= 1 pixel, got {radius}')
    if not power > 0:
        raise ValueError(f'fill_flow: power must be > 0, got {power}')
    if int(iters) < 0:
        raise ValueError(f'fill_flow: iters must be >= 0, got {iters}')
    m = (valid_mask > 0.5).to(flow.dtype)
    if bool((m > 0).all()):
        return flow
    base = _push_pull(flow * m, m)
    if method == 'idw':
        radius = int(radius)
        k = _idw_kernel(radius, float(power), flow.dtype, flow.device)
        num = F.conv2d(F.pad((flow * m).reshape(-1, 1, *flow.shape[-2:]), [radius] * 4), k)
        den = F.conv2d(F.pad(m, [radius] * 4), k)
        num = num.reshape(flow.shape)
        idw = num / den.clamp_min(1e-12)
        filled = torch.where(den > 1e-12, idw, base)
    else:
        u = base
        w = torch.ones_like(m)
        kern = torch.tensor([[0., 1., 0.], [1., 0., 1.], [0., 1., 0.]], dtype=flow.dtype,
                            device=flow.device).view(1, 1, 3, 3)
        # number of in-image 4-neighbours (zero-flux border)
        nbrs = F.conv2d(F.pad(w, [1] * 4), kern)
        for _ in range(int(iters)):
            s = F.conv2d(F.pad(u.reshape(-1, 1, *u.shape[-2:]), [1] * 4), kern).reshape(u.shape)
            u = torch.where(m > 0, flow, s / nbrs)
        filled = u
    return torch.where(m > 0, flow, filled)
