"""VFI-opt: next-frame prediction by optimising a flow through a frozen frame interpolator (pure functions).

Wu et al., "Optimizing Video Prediction via Video Frame Interpolation" (CVPR 2022). Given the last two observed
frames ``x(t-1)``, ``x(t)`` the next frame is ``x̃(t+1) = flow_warp(x(t), f̃, padding_mode='border')`` with
``f̃ = flow(t+1, t)`` in the toolbox convention (:mod:`vidtoolbox.ops.flow_warp`: on the grid of the *predicted*
frame, pointing to where each of its pixels is found in ``x(t)``). ``f̃`` is optimised so that a frozen
interpolator ``G`` fed with ``(x(t-1), x̃(t+1))`` at ``t = 0.5`` reproduces ``x(t)``:

* ``L_img = mean |I^G(t+1) − x(t)|`` with ``I^G(t+1) = flow_warp(x̃(t+1), f^G(t→t+1))`` — the interpolator's
  warp of its second input to the middle time (``warped1`` of :class:`~vidtoolbox.models.archs.IFNet`);
* ``L_cons = mean_p |f̃(p) + f^G(t→t+1)(p + f̃(p))|₁`` — forward–backward consistency of ``f̃ = flow(t+1, t)``
  with ``f^G(t→t+1) = flow(t, t+1)`` (``flow_t1`` of ``IFNet``), pixels;
* ``L = w_img·L_img + w_cons·L_cons`` (+ optional regularisers).

Initialisation (sign conventions): with constant velocity ``v`` (content moves by ``+v`` per frame) the observed
flow is ``flow(x(t), x(t-1)) = −v``, hence ``−flow(t, t−1) ≈ flow(t, t+1) = +v``, the forward motion of ``x(t)``'s
pixels; :func:`~vidtoolbox.ops.flow_reversal` moves it onto the grid of ``x(t+1)`` and reverses it, giving
``flow(t+1, t) ≈ −v`` (the paper's ``f̃ = δ(−f(t→t−1))``). Holes of the reversal are filled with
:func:`~vidtoolbox.ops.fill_flow`. After optimisation, pixels whose consistency error exceeds ``alpha``
(1.5 px, paper eq. 12) are unreliable and their flow is refilled from reliable neighbours before the final warp.

Nothing here knows about MMEngine or the registry: the interpolator is any callable
``interp(img0, img1) -> (I^G(t+1), f^G(t→t+1) or None)`` (see :func:`interpolator_fn`); the MMEngine model is
:class:`vidtoolbox.models.heads.VFIOptPredictor`.
"""
import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from .flow_fill import consistency_error, fill_flow
from .flow_warp import flow_warp, resize_flow
from .splat import flow_reversal

__all__ = ['VFIOptSettings', 'VFI_OPT_VARIANTS', 'variant_settings', 'InterpFn', 'interpolator_fn', 'reversal_init',
           'calibration_offsets', 'vfi_losses', 'lr_at', 'compose_flow', 'optimise_flow', 'consistency_fill',
           'predict_next', 'choose_by_psnr', 'predict_from_context', 'check_frames', 'check_flow', 'LR_SCHEDULES']

#: learning-rate schedules of :func:`lr_at`
LR_SCHEDULES = ('constant', 'cosine', 'step')
_FILLS = ('idw', 'harmonic')
_CONS_NORMS = ('mean', 'paper')
_FREEZE = (None, 'consistent', 'covered')
_ENSEMBLES = (None, 'flip', 'swap', 'flip+swap')

#: ``interp(img0, img1) -> (I^G(t+1), f^G(t→t+1))``: ``img0``/``img1`` ``(B, 3, H, W)`` in [0, 1]; returns the
#: interpolator's warp of ``img1`` to the middle time ``(B, 3, H, W)`` (or, for interpolators exposing no flow,
#: the interpolated frame) and ``flow(frame_0.5, img1)`` ``(B, 2, H, W)`` in pixels (or ``None``).
InterpFn = Callable[[torch.Tensor, torch.Tensor], Tuple[torch.Tensor, Optional[torch.Tensor]]]


def _levels(levels) -> Tuple[int, ...]:
    if isinstance(levels, (list, tuple)):
        if not levels or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in levels):
            raise ValueError(f'VFI-opt: levels must be an int >= 1 or a non-empty sequence of level indices >= 0, '
                             f'got {levels}')
        return tuple(sorted(set(levels)))
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f'VFI-opt: levels must be an int >= 1 or a sequence of level indices, got {levels}')
    return tuple(range(levels))


@dataclass
class VFIOptSettings:
    """Hyper-parameters of the VFI-opt optimisation (validated on construction; the message names the field).

    Attributes:
        num_iters: Adam iterations per predicted frame (paper: 3000; 0 returns the initialisation).
        lr: Adam learning rate on the flow, in pixels (paper: 0.1).
        lr_schedule: ``'cosine'`` (decay to ``lr·min_lr_ratio`` over ``num_iters``), ``'step'`` (×0.1 at 50 % and
            80 %) or ``'constant'`` (the paper's).
        min_lr_ratio: final learning-rate fraction of the cosine schedule, in (0, 1].
        w_img, w_cons: loss weights ``ω1``, ``ω2`` (``L_img`` is a mean over pixels and channels of values in
            [0, 1]; ``L_cons`` a mean over pixels of an L1 distance in pixels).
        w_prior: weight of ``L_prior = mean_p v(p)·|f̃(p) − f_init(p)|₁`` (pixels), an L1 trust region around the
            initialisation on the pixels the flow reversal covered (0 disables it).
        w_smooth: weight of a total-variation term on ``f̃`` (mean L1 of neighbour differences, pixels).
        alpha: consistency threshold (pixels) marking unreliable flow for the final fill (paper: 1.5); ``None``
            disables the fill.
        fill_method: ``'idw'`` (paper) or ``'harmonic'``, see :func:`~vidtoolbox.ops.fill_flow`.
        levels: parameterisation of the optimised residual: ``f̃ = f_init + Σ_l up(δ_l)`` with ``δ_l`` at
            ``1/2**l`` resolution. An int ``n`` means levels ``0 … n-1`` (``1`` = a per-pixel flow, the paper); a
            sequence names the levels, e.g. ``(2, 3)``.
        tol, window: early stop when the mean loss of the last ``window`` iterations differs from that of the
            previous window by less than ``tol`` (relative); ``tol=0`` disables it.
        keep_best: return the flow of the lowest loss seen instead of the last iterate.
        cons_norm: reduction of ``L_cons``: ``'mean'`` (mean over pixels of the L1 round-trip error, pixels) or
            ``'paper'`` (the public scripts' ``0.001/2 · Σ_p mean_c |·|`` = ``2.5e-4 · Σ_p |·|₁``, a sum over pixels,
            so its weight relative to ``L_img`` grows with the image size).
        fill_dilate: radius (pixels) by which the unreliable mask is dilated before the final fill (the public
            scripts dilate with a 5×5 kernel: 2); 0 = no dilation.
        calibrate: *context calibration* (toolbox addition; needs ``x(t−2)``): the interpolator's error on the real
            context triplet ``(x(t−2), x(t−1), x(t))`` is moved onto the prediction triplet and becomes the target
            of the objective, see :func:`calibration_offsets`.
        select_iters: iteration counts to choose from by a *held-back step* (toolbox addition; needs one more
            context frame): the same optimisation predicts the last context frame from the frames before it, and
            the count whose prediction has the highest PSNR is used for the real step (:func:`predict_from_context`).
            ``None`` disables it (``num_iters`` iterations are run).
        freeze: optimise only the pixels where the initialisation is unreliable and keep the others *exactly*
            (also through the final fill): ``'consistent'`` freezes the pixels whose round-trip error with the
            interpolator's flow at the initialisation is <= ``alpha`` (1.5 px when ``alpha`` is ``None``);
            ``'covered'`` freezes every pixel the flow reversal covered (only its holes are optimised); ``None``
            (the paper) optimises every pixel.
        trust_radius: bound (pixels) on the change of each flow component: ``f̃ = f_init + r·tanh(Σ up(δ_l) / r)``;
            ``None``: unbounded (the paper).
    """

    num_iters: int = 300
    lr: float = 0.1
    lr_schedule: str = 'cosine'
    min_lr_ratio: float = 0.01
    w_img: float = 1.0
    w_cons: float = 0.01
    w_prior: float = 0.0
    w_smooth: float = 0.0
    alpha: Optional[float] = 1.5
    fill_method: str = 'idw'
    levels: Union[int, Sequence[int]] = 1
    tol: float = 1e-3
    window: int = 50
    keep_best: bool = True
    cons_norm: str = 'mean'
    fill_dilate: int = 0
    calibrate: bool = False
    select_iters: Optional[Sequence[int]] = None
    freeze: Optional[str] = None
    trust_radius: Optional[float] = None

    def __post_init__(self):
        if isinstance(self.num_iters, bool) or int(self.num_iters) != self.num_iters or self.num_iters < 0:
            raise ValueError(f'VFI-opt: num_iters must be an int >= 0, got {self.num_iters}')
        self.num_iters = int(self.num_iters)
        if not self.lr > 0:
            raise ValueError(f'VFI-opt: lr must be > 0, got {self.lr}')
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f'VFI-opt: lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}')
        if not 0 < self.min_lr_ratio <= 1:
            raise ValueError(f'VFI-opt: min_lr_ratio must be in (0, 1], got {self.min_lr_ratio}')
        if self.w_img < 0 or self.w_cons < 0 or (self.w_img == 0 and self.w_cons == 0):
            raise ValueError(f'VFI-opt: w_img and w_cons must be >= 0 and not both 0, got {self.w_img}, '
                             f'{self.w_cons}')
        if not (self.w_prior >= 0 and self.w_smooth >= 0):
            raise ValueError(f'VFI-opt: w_prior and w_smooth must be >= 0, got {self.w_prior}, {self.w_smooth}')
        if self.alpha is not None and not self.alpha > 0:
            raise ValueError(f'VFI-opt: alpha must be > 0 (pixels) or None, got {self.alpha}')
        if self.fill_method not in _FILLS:
            raise ValueError(f'VFI-opt: fill_method must be one of {_FILLS}, got {self.fill_method!r}')
        self.levels = _levels(self.levels)
        if self.tol < 0 or int(self.window) < 1:
            raise ValueError(f'VFI-opt: tol must be >= 0 and window >= 1, got tol={self.tol}, window={self.window}')
        self.window = int(self.window)
        self.keep_best = bool(self.keep_best)
        if self.cons_norm not in _CONS_NORMS:
            raise ValueError(f'VFI-opt: cons_norm must be one of {_CONS_NORMS}, got {self.cons_norm!r}')
        if isinstance(self.fill_dilate, bool) or int(self.fill_dilate) != self.fill_dilate or self.fill_dilate < 0:
            raise ValueError(f'VFI-opt: fill_dilate must be an int >= 0 (pixels), got {self.fill_dilate!r}')
        self.fill_dilate = int(self.fill_dilate)
        self.calibrate = bool(self.calibrate)
        if self.select_iters is not None:
            cands = self.select_iters
            if (not isinstance(cands, (list, tuple)) or not cands
                    or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in cands)):
                raise ValueError(f'VFI-opt: select_iters must be None or a non-empty sequence of iteration counts '
                                 f'>= 0, got {cands!r}')
            self.select_iters = tuple(sorted(set(int(v) for v in cands)))
        if self.freeze not in _FREEZE:
            raise ValueError(f'VFI-opt: freeze must be one of {_FREEZE}, got {self.freeze!r}')
        if self.trust_radius is not None and not self.trust_radius > 0:
            raise ValueError(f'VFI-opt: trust_radius must be > 0 (pixels) or None, got {self.trust_radius}')

    @property
    def context_size(self) -> int:
        """Context frames one prediction needs: 2, +1 with ``calibrate``, +1 with ``select_iters``."""
        return 2 + int(self.calibrate) + int(self.select_iters is not None)


#: named settings (keyword arguments of :class:`VFIOptSettings` and of ``VFIOptPredictor``):
#:
#: * ``'paper'``: the paper's optimisation as in its public scripts: ``100·L_img + 0.1·L_cons`` with ``L_cons``
#:   summed over pixels (``cons_norm='paper'``), Adam at a constant lr 0.1 for 3000 iterations, the last iterate,
#:   then the unreliable pixels (round-trip error > 1.5 px, grown by a 5×5 dilation) refilled harmonically;
#: * ``'calibrated'`` (toolbox): the context-calibrated image term only (:func:`calibration_offsets`), Adam at a
#:   constant lr 0.03, no final fill, and the iteration count chosen per prediction on a held-back context step
#:   among 0, 10, 25, 50, 100 and ``num_iters`` (:func:`predict_from_context`); needs 4 context frames.
#:   The measured comparison: ``tools/reproduce.py vfiopt`` (:mod:`vidtoolbox.apis.vfi_opt_compare`), docs/vfi_opt.md.
VFI_OPT_VARIANTS = {
    'paper': dict(num_iters=3000, lr=0.1, lr_schedule='constant', w_img=100.0, w_cons=0.1, cons_norm='paper',
                  alpha=1.5, fill_method='harmonic', fill_dilate=2, keep_best=False, tol=0.0),
    'calibrated': dict(num_iters=100, lr=0.03, lr_schedule='constant', w_img=1.0, w_cons=0.0, alpha=None,
                       keep_best=False, tol=0.0, calibrate=True, select_iters=(0, 10, 25, 50, 100)),
}


def variant_settings(name: str, **overrides) -> dict:
    """The keyword arguments of the named variant (:data:`VFI_OPT_VARIANTS`) updated with ``overrides``.

    Raises:
        ValueError: unknown ``name`` (the message lists the known ones).
    """
    if name not in VFI_OPT_VARIANTS:
        raise ValueError(f'VFI-opt: unknown variant {name!r}; expected one of {sorted(VFI_OPT_VARIANTS)}')
    kw = dict(VFI_OPT_VARIANTS[name])
    kw.update(overrides)
    return kw


def interpolator_fn(interpolator, scale_list: Optional[Sequence[float]] = None,
                    ensemble: Optional[str] = None) -> InterpFn:
    """Wrap an interpolator into the :data:`InterpFn` the optimiser calls.

    Args:
        interpolator: an ``nn.Module`` whose ``forward(img0, img1, timestep=0.5)`` returns a dict with
            ``warped1`` and ``flow_t1`` (like :class:`~vidtoolbox.models.archs.IFNet`): the paper's ``L_img`` on
            ``I^G(t+1)`` and ``L_cons`` are used. Otherwise its ``interpolate(img0, img1, t)`` is used: ``L_img``
            then compares the interpolated frame itself with ``x(t)`` (the paper's "L_interp" variant) and
            ``L_cons`` is skipped.
        scale_list: passed to the module's ``forward`` as ``scale_list`` when given (IFNet's block scales, e.g.
            ``(4, 2, 1, 1)``); ``None`` keeps the interpolator's default.
        ensemble: test-time ensembling, averaging ``I^G(t+1)`` and ``f^G(t→t+1)`` over ``'flip'`` (the inputs
            mirrored left–right; the flow's dx negated back), ``'swap'`` (``G(img1, img0)``, whose ``warped0`` /
            ``flow_t0`` then belong to ``img1``) or ``'flip+swap'`` (three calls); ``None``: one call.

    Raises:
        TypeError: ``interpolator`` has no ``interpolate(img0, img1, t)`` method.
        ValueError: unknown ``ensemble``.
    """
    if not callable(getattr(interpolator, 'interpolate', None)):
        raise TypeError(f'VFI-opt: the interpolator {type(interpolator).__name__} has no '
                        'interpolate(img0, img1, t) method')
    if ensemble not in _ENSEMBLES:
        raise ValueError(f'VFI-opt: ensemble must be one of {_ENSEMBLES}, got {ensemble!r}')
    is_module = isinstance(interpolator, torch.nn.Module)
    extra = {} if scale_list is None else dict(scale_list=tuple(scale_list))

    def one(img0, img1, swapped=False):
        out = interpolator(img0, img1, timestep=0.5, **extra) if is_module else None
        if isinstance(out, dict) and 'flow_t1' in out and 'warped1' in out:
            return (out['warped0'], out['flow_t0']) if swapped else (out['warped1'], out['flow_t1'])
        return interpolator.interpolate(img0, img1, 0.5), None

    def fn(img0, img1):
        outs = [one(img0, img1)]
        if ensemble in ('flip', 'flip+swap'):
            w, f = one(img0.flip(-1), img1.flip(-1))
            outs.append((w.flip(-1), None if f is None else torch.cat([-f[:, :1], f[:, 1:]], 1).flip(-1)))
        if ensemble in ('swap', 'flip+swap'):
            outs.append(one(img1, img0, swapped=True))
        if len(outs) == 1:
            return outs[0]
        frame = sum(o[0] for o in outs) / len(outs)
        flows = [o[1] for o in outs]
        return frame, None if any(f is None for f in flows) else sum(flows) / len(flows)

    return fn


def check_frames(prev: torch.Tensor, cur: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``prev`` and ``cur`` are ``(B, 3, H, W)`` tensors of the same shape."""
    for name, x in (('prev', prev), ('cur', cur)):
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f'VFI-opt: {name} must be a (B, 3, H, W) RGB tensor in [0, 1], got {shape}')
    if cur.shape != prev.shape:
        raise ValueError(f'VFI-opt: cur {tuple(cur.shape)} must have the shape of the other frame '
                         f'{tuple(prev.shape)}')


def check_flow(name: str, f: torch.Tensor, ref: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``f`` is a ``(B, 2, H, W)`` flow matching the frame ``ref`` ``(B, 3, H, W)``."""
    want = (ref.shape[0], 2, *ref.shape[-2:])
    if not isinstance(f, torch.Tensor) or tuple(f.shape) != want:
        shape = tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__
        raise ValueError(f'VFI-opt: {name} must be (B, 2, H, W) = {want}, got {shape}')


def reversal_init(observed: torch.Tensor, fill_method: str = 'idw') -> Tuple[torch.Tensor, torch.Tensor]:
    """The constant-velocity initialisation ``f̃₀ = flow(t+1, t) = δ(−flow(t, t−1))``.

    Args:
        observed: ``(B, 2, H, W)`` ``flow(x(t), x(t−1))`` in pixels.
        fill_method: how the reversal's holes are filled (:func:`~vidtoolbox.ops.fill_flow`).

    Returns:
        tuple ``(flow, valid)``: the filled reversed flow ``(B, 2, H, W)`` and the reversal's validity
        ``(B, 1, H, W)`` (1 where something landed, 0 in holes: regions entering the view / disoccluded).
    """
    observed = observed.detach()
    rev, valid = flow_reversal(-observed)
    if bool((valid > 0).any()):
        rev = fill_flow(rev, valid, method=fill_method)
    return rev, valid


def calibration_offsets(prev2: torch.Tensor, prev: torch.Tensor, cur: torch.Tensor, observed: torch.Tensor,
                        init: torch.Tensor, interp: InterpFn) -> dict:
    """The interpolator's error on the real context triplet, moved onto the prediction triplet.

    The objective of VFI-opt asks that ``G(x(t−1), x̃(t+1))`` reproduces ``x(t)`` exactly. A real interpolator does
    not do that even for the true ``x(t+1)``: its warp has errors (imprecise flow, motion that is not exactly
    linear: the middle frame is not half-way in time), and an optimised per-pixel flow exploits them. The context
    holds one more real triplet, ``(x(t−2), x(t−1), x(t))``, on which the interpolator's error is *known*:

    * image: ``r = I^G_ctx − x(t−1)`` on ``x(t−1)``'s grid, with ``I^G_ctx`` the warp of ``x(t)`` to the middle
      of ``(x(t−2), x(t))``; moved to ``x(t)``'s grid along ``flow(t, t−1)``: ``img = flow_warp(r, observed)``;
    * flow: the round-trip vector ``flow(t, t−1)(q) + f^G_ctx(q + flow(t, t−1)(q))`` on ``x(t)``'s grid (``f^G_ctx``
      = the interpolator's ``flow(middle, x(t))``), with the observed flow standing for ``flow(t, t−1)``; moved to
      ``x(t+1)``'s grid along the initial ``flow(t+1, t)``: ``flow``.

    With stationary motion the true ``x(t+1)`` makes the same errors, so :func:`vfi_losses` uses
    ``|I^G(t+1) − x(t) − img|`` and ``|f̃ + f^G(·+f̃) − flow|₁`` (toolbox addition, not in the paper).

    Args:
        prev2, prev, cur: ``x(t−2)``, ``x(t−1)``, ``x(t)`` ``(B, 3, H, W)`` in [0, 1].
        observed: ``(B, 2, H, W)`` ``flow(x(t), x(t−1))`` in pixels.
        init: ``(B, 2, H, W)`` the initial ``flow(t+1, t)``.
        interp: see :data:`InterpFn`.

    Returns:
        dict: ``img`` ``(B, 3, H, W)`` (values in [−1, 1]) and ``flow`` ``(B, 2, H, W)`` pixels (``None`` when the
        interpolator exposes no flow).
    """
    with torch.no_grad():
        warped, f_ctx = interp(prev2.detach(), cur.detach())
        img = flow_warp(warped - prev, observed, padding_mode='border')
        flow = None
        if f_ctx is not None:
            trip = observed + flow_warp(f_ctx, observed, padding_mode='border')
            flow = flow_warp(trip, init, padding_mode='border')
    return dict(img=img, flow=flow)


def vfi_losses(flow: torch.Tensor, prev: torch.Tensor, cur: torch.Tensor, interp: InterpFn,
               settings: VFIOptSettings, anchor: Optional[torch.Tensor] = None,
               anchor_weight: Optional[torch.Tensor] = None, calib: Optional[dict] = None) -> dict:
    """``L_img``, ``L_cons``, the regularisers and the weighted total for a candidate ``f̃ = flow(t+1, t)``.

    Args:
        flow: ``(B, 2, H, W)`` candidate ``flow(t+1, t)`` in pixels.
        prev, cur: ``x(t−1)``, ``x(t)`` ``(B, 3, H, W)`` in [0, 1].
        interp: the interpolator, see :data:`InterpFn`.
        settings: the weights ``w_img``, ``w_cons``, ``w_prior``, ``w_smooth`` and ``cons_norm``.
        anchor: ``(B, 2, H, W)`` the flow ``L_prior`` pulls towards (``None``: ``L_prior = 0``).
        anchor_weight: ``(B, 1, H, W)`` per-pixel weight of ``L_prior`` in [0, 1] (``None``: all ones).
        calib: :func:`calibration_offsets` (``None``: the paper's objective): ``L_img = mean|I^G − x(t) − img|``
            and, when it has a ``flow``, ``L_cons`` measures the round-trip vector minus ``flow``.

    Returns:
        dict of scalars (mean over the batch): ``img``, ``cons`` (0 when the interpolator exposes no flow),
        ``prior`` (``mean_p w(p)·|f̃(p) − anchor(p)|₁``, pixels), ``smooth`` (mean L1 of the horizontal and
        vertical flow differences, pixels), ``total``; and the tensors ``pred`` (``x̃(t+1)``) and ``cons_map``
        ``(B, 1, H, W)`` (the per-pixel round-trip error in pixels, or ``None``).
    """
    s = settings
    pred = flow_warp(cur, flow, padding_mode='border')
    i_g, f_g = interp(prev, pred)
    target = cur if calib is None else cur + calib['img']
    l_img = (i_g - target).abs().mean()
    if f_g is not None:
        if calib is not None and calib.get('flow') is not None:
            trip = flow + flow_warp(f_g, flow, padding_mode='border')
            cmap = (trip - calib['flow']).abs().sum(1, keepdim=True)
        else:
            cmap = consistency_error(flow, f_g)
        l_cons = cmap.mean() if s.cons_norm == 'mean' else 2.5e-4 * cmap.sum() / flow.shape[0]
    else:
        cmap, l_cons = None, flow.new_zeros(())
    total = s.w_img * l_img + s.w_cons * l_cons
    l_prior = flow.new_zeros(())
    if anchor is not None and s.w_prior > 0:
        d = (flow - anchor).abs().sum(1, keepdim=True)
        l_prior = (d if anchor_weight is None else d * anchor_weight).mean()
        total = total + s.w_prior * l_prior
    l_smooth = flow.new_zeros(())
    if s.w_smooth > 0:
        l_smooth = ((flow[..., :, 1:] - flow[..., :, :-1]).abs().mean()
                    + (flow[..., 1:, :] - flow[..., :-1, :]).abs().mean())
        total = total + s.w_smooth * l_smooth
    return dict(img=l_img, cons=l_cons, prior=l_prior, smooth=l_smooth, total=total, pred=pred, cons_map=cmap)


def lr_at(it: int, n: int, lr: float, schedule: str = 'cosine', min_lr_ratio: float = 0.01) -> float:
    """Learning rate of iteration ``it`` (0-based) of ``n``: ``'constant'``, ``'step'`` (×0.1 at 50 % and 80 %) or
    ``'cosine'`` (from ``lr`` at ``it = 0`` to ``lr·min_lr_ratio`` at ``it = n − 1``)."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f'lr_at: schedule must be one of {LR_SCHEDULES}, got {schedule!r}')
    if schedule == 'constant' or n <= 1:
        return lr
    if schedule == 'step':
        return lr * (0.1 ** ((it >= 0.5 * n) + (it >= 0.8 * n)))
    r = min_lr_ratio
    return lr * (r + (1 - r) * 0.5 * (1 + math.cos(math.pi * it / (n - 1))))


def compose_flow(base: torch.Tensor, deltas: Sequence[torch.Tensor], free: Optional[torch.Tensor] = None,
                 trust_radius: Optional[float] = None) -> torch.Tensor:
    """``base + free·ρ(Σ up(δ_l))``: every residual ``(B, 2, h_l, w_l)`` is bilinearly resized to ``base``'s size
    (values scaled, :func:`~vidtoolbox.ops.resize_flow`) and summed; ``ρ(d) = r·tanh(d / r)`` with
    ``r = trust_radius`` (identity when ``None``); ``free`` ``(B, 1, H, W)`` in {0, 1} masks the pixels that may
    change (``None``: all)."""
    h, w = base.shape[-2:]
    res = None
    for d in deltas:
        d = d if d.shape[-2:] == (h, w) else resize_flow(d, (h, w))
        res = d if res is None else res + d
    if res is None:
        return base
    if trust_radius is not None:
        res = trust_radius * torch.tanh(res / trust_radius)
    if free is not None:
        res = res * free
    return base + res


def optimise_flow(prev: torch.Tensor, cur: torch.Tensor, init: torch.Tensor, interp: InterpFn,
                  settings: VFIOptSettings, anchor_weight: Optional[torch.Tensor] = None,
                  num_iters: Optional[int] = None, progress: bool = False, calib: Optional[dict] = None,
                  snapshots: Sequence[int] = (), stop_at: Optional[int] = None,
                  free: Optional[torch.Tensor] = None) -> dict:
    """Adam on the residual of ``f̃ = init + free·ρ(Σ_l up(δ_l))`` minimising :func:`vfi_losses` (no final fill;
    ``ρ``: the trust region of ``settings.trust_radius``, see :func:`compose_flow`).

    Args:
        prev, cur: ``x(t−1)``, ``x(t)`` ``(B, 3, H, W)`` in [0, 1].
        init: ``(B, 2, H, W)`` initial ``flow(t+1, t)`` (also the anchor of ``L_prior``).
        interp: see :data:`InterpFn`.
        settings: :class:`VFIOptSettings`.
        anchor_weight: ``(B, 1, H, W)`` weight of ``L_prior`` (``None``: all ones).
        num_iters: overrides ``settings.num_iters`` (the length of the learning-rate schedule).
        progress: tqdm bar over iterations.
        calib: :func:`calibration_offsets` for the calibrated objective (``None``: the paper's).
        snapshots: iteration counts ``k`` at which to also return the flow the optimiser would return if it
            stopped after ``k`` iterations (``k = 0``: ``init``); counts beyond the iterations run (early stop) get
            the final flow.
        stop_at: stop after this many iterations of the ``num_iters``-long schedule (``None``: run it all); with a
            ``'constant'`` schedule this equals ``num_iters=stop_at``.
        free: ``(B, 1, H, W)`` {0, 1}: the pixels that may change (``None``: all).
        free: ``(B, 1, H, W)`` {0, 1}: the pixels that may change (``None``: all).

    Returns:
        dict: ``flow`` ``(B, 2, H, W)`` the optimised ``flow(t+1, t)`` (the best iterate with ``keep_best``),
        ``history`` list of per-iteration total losses, ``iters`` the number of iterations run, ``snapshots``
        dict ``{k: flow}``.
    """
    s = settings
    n = s.num_iters if num_iters is None else int(num_iters)
    if n < 0:
        raise ValueError(f'VFI-opt: num_iters must be >= 0, got {n}')
    run = n if stop_at is None else max(0, min(n, int(stop_at)))
    prev, cur, base = prev.detach(), cur.detach(), init.detach()
    h, w = cur.shape[-2:]
    deltas = [torch.zeros(cur.shape[0], 2, max(1, h >> lvl), max(1, w >> lvl), dtype=cur.dtype,
                          device=cur.device, requires_grad=True) for lvl in s.levels]
    want = sorted(set(int(k) for k in snapshots))
    snaps = {}
    history: List[float] = []
    best = (math.inf, base)

    def loss_of(f):
        return vfi_losses(f, prev, cur, interp, s, base, anchor_weight, calib)['total']

    if run > 0:
        with torch.enable_grad():
            opt = torch.optim.Adam(deltas, lr=s.lr)
            bar = None
            if progress:
                from tqdm import tqdm
                bar = tqdm(total=run, desc='VFI-opt', leave=False)
            for it in range(run):
                for g in opt.param_groups:
                    g['lr'] = lr_at(it, n, s.lr, s.lr_schedule, s.min_lr_ratio)
                flow = compose_flow(base, deltas, free, s.trust_radius)
                loss = loss_of(flow)
                val = float(loss.detach())
                history.append(val)
                if s.keep_best and val < best[0]:
                    best = (val, flow.detach())
                if it in want:  # the flow returned after `it` iterations: iterate `it` or the best of 0..it
                    snaps[it] = best[1] if s.keep_best else flow.detach()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f'{val:.4g}')
                if s.tol > 0 and len(history) >= 2 * s.window:
                    a = sum(history[-2 * s.window:-s.window]) / s.window
                    b = sum(history[-s.window:]) / s.window
                    if abs(a - b) <= s.tol * max(abs(a), 1e-12):
                        break
            if bar is not None:
                bar.close()
    with torch.no_grad():
        last = compose_flow(base, deltas, free, s.trust_radius).detach()
        flow = last
        if s.keep_best and run > 0:
            flow = last if float(loss_of(last)) <= best[0] else best[1]
    for k in want:
        if k not in snaps:
            snaps[k] = base if k == 0 else flow
    return dict(flow=flow, history=history, iters=len(history), snapshots=snaps)


def _dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    if radius <= 0:
        return mask
    return F.max_pool2d(mask, 2 * radius + 1, stride=1, padding=radius)


def consistency_fill(flow: torch.Tensor, prev: torch.Tensor, cur: torch.Tensor, interp: InterpFn,
                     alpha: Optional[float] = 1.5, fill_method: str = 'idw', dilate: int = 0,
                     calib: Optional[dict] = None, keep: Optional[torch.Tensor] = None
                     ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Refill the unreliable pixels of ``f̃ = flow(t+1, t)`` (paper eq. 12).

    The interpolator is run once on ``(x(t−1), flow_warp(x(t), f̃))``; pixels whose round-trip error
    ``|f̃(p) + f^G(t→t+1)(p + f̃(p))|₁`` (with ``calib``: minus ``calib['flow']``) exceeds ``alpha`` pixels —
    grown by ``dilate`` pixels — are refilled from reliable neighbours (:func:`~vidtoolbox.ops.fill_flow`).
    Pixels where ``keep`` ``(B, 1, H, W)`` is 1 count as reliable whatever their error (frozen pixels).

    Returns:
        tuple ``(flow, valid)``: the filled flow ``(B, 2, H, W)`` and the mask ``(B, 1, H, W)`` (1 = reliable;
        all ones when ``alpha`` is ``None`` or the interpolator exposes no flow).
    """
    valid = torch.ones_like(flow[:, :1])
    if alpha is None:
        return flow, valid
    with torch.no_grad():
        _, f_g = interp(prev, flow_warp(cur, flow, padding_mode='border'))
        if f_g is None:
            return flow, valid
        if calib is not None and calib.get('flow') is not None:
            err = (flow + flow_warp(f_g, flow, padding_mode='border') - calib['flow']).abs().sum(1, keepdim=True)
        else:
            err = consistency_error(flow, f_g)
        valid = 1.0 - _dilate((err > alpha).to(flow.dtype), dilate)
        if keep is not None:
            valid = torch.maximum(valid, keep.to(valid))
        if bool((valid < 1).any()) and bool((valid > 0).any()):
            flow = fill_flow(flow, valid, method=fill_method)
    return flow, valid


def predict_next(prev: torch.Tensor, cur: torch.Tensor, interp: InterpFn, settings: VFIOptSettings,
                 observed: Optional[torch.Tensor] = None, init: Optional[torch.Tensor] = None,
                 num_iters: Optional[int] = None, progress: bool = False, prev2: Optional[torch.Tensor] = None,
                 snapshots: Sequence[int] = (), stop_at: Optional[int] = None) -> dict:
    """Predict ``x(t+1)`` from ``x(t−1)``, ``x(t)``: initialisation, optimisation, consistency fill, warp.

    Args:
        prev: ``x(t−1)`` ``(B, 3, H, W)`` RGB in [0, 1].
        cur: ``x(t)`` ``(B, 3, H, W)``.
        interp: see :data:`InterpFn`.
        settings: :class:`VFIOptSettings` (``select_iters`` is not used here, see :func:`predict_from_context`).
        observed: ``flow(x(t), x(t−1))`` ``(B, 2, H, W)``; the initialisation is its reversal
            (:func:`reversal_init`). Needed unless ``init`` is given, and always with ``settings.calibrate``.
        init: an initial ``flow(t+1, t)`` ``(B, 2, H, W)`` (skips the reversal; ``L_prior`` then weights all
            pixels).
        num_iters: overrides ``settings.num_iters``.
        progress: tqdm bar over iterations.
        prev2: ``x(t−2)`` ``(B, 3, H, W)``, required by ``settings.calibrate``.
        snapshots: iteration counts whose predictions are also returned (see :func:`optimise_flow`).
        stop_at: see :func:`optimise_flow`.

    Returns:
        dict: ``frame`` ``(B, 3, H, W)`` in [0, 1] (the prediction ``x̃(t+1)``), ``flow`` ``(B, 2, H, W)`` the
        final ``flow(t+1, t)`` (after the consistency fill), ``init_flow`` the initialisation, ``valid``
        ``(B, 1, H, W)`` the final consistency mask, ``history`` list of per-iteration total losses, ``iters``,
        ``snapshots`` ``{k: frame (B, 3, H, W)}`` (each with its own consistency fill), ``free`` the mask of the
        optimised pixels with ``settings.freeze`` (else ``None``).
    """
    check_frames(prev, cur)
    prev, cur = prev.detach(), cur.detach()
    if init is None:
        if observed is None:
            raise ValueError('VFI-opt: predict_next needs the observed flow(x(t), x(t-1)) or an init flow(t+1, t)')
        check_flow('the observed flow', observed, cur)
        base, anchor_w = reversal_init(observed.to(cur), settings.fill_method)
        anchor_w = (anchor_w > 0.5).to(cur.dtype)
    else:
        if settings.freeze == 'covered':
            raise ValueError("VFI-opt: freeze='covered' needs the reversal initialisation (the observed flow), "
                             'not an init flow')
        check_flow('init', init, cur)
        base = init.detach().to(cur)
        anchor_w = torch.ones_like(base[:, :1])
    free = None
    if settings.freeze == 'covered':
        free = 1.0 - anchor_w
    elif settings.freeze == 'consistent':
        with torch.no_grad():
            _, f_g = interp(prev, flow_warp(cur, base, padding_mode='border'))
        if f_g is None:
            raise ValueError("VFI-opt: freeze='consistent' needs an interpolator that exposes its flow")
        thr = 1.5 if settings.alpha is None else settings.alpha
        free = (consistency_error(base, f_g) > thr).to(cur.dtype)
    calib = None
    if settings.calibrate:
        if prev2 is None or observed is None:
            raise ValueError('VFI-opt: calibrate=True needs x(t-2) (prev2) and the observed flow(x(t), x(t-1))')
        check_frames(prev2, cur)
        calib = calibration_offsets(prev2, prev, cur, observed.to(cur), base, interp)
    out = optimise_flow(prev, cur, base, interp, settings, anchor_w, num_iters=num_iters, progress=progress,
                        calib=calib, snapshots=snapshots, stop_at=stop_at, free=free)

    def finish(f):
        f, valid = consistency_fill(f, prev, cur, interp, settings.alpha, settings.fill_method,
                                    settings.fill_dilate, calib, keep=None if free is None else 1.0 - free)
        with torch.no_grad():
            return f, valid, flow_warp(cur, f, padding_mode='border').clamp(0, 1)

    flow, valid, frame = finish(out['flow'])
    snaps = {k: finish(f)[2] for k, f in out['snapshots'].items()}
    return dict(frame=frame, flow=flow, init_flow=base, valid=valid, history=out['history'], iters=out['iters'],
                snapshots=snaps, free=free)


def choose_by_psnr(candidates: Dict[int, torch.Tensor], target: torch.Tensor) -> Tuple[int, Dict[int, float]]:
    """The held-back choice: the key of the candidate frame closest to ``target`` in PSNR.

    Args:
        candidates: ``{iterations: frame (B, 3, H, W)}`` in [0, 1].
        target: the real frame ``(B, 3, H, W)``.

    Returns:
        ``(k, scores)``: the key with the highest PSNR (mean over the batch; ties: the smallest key) and the PSNR
        (dB, on [0, 1] values without rounding, capped at 100 dB) of every candidate.
    """
    scores = {}
    for k, f in candidates.items():
        mse = ((f - target) ** 2).flatten(1).mean(1).clamp_min(1e-10)
        scores[k] = float((-10.0 * torch.log10(mse)).mean())
    chosen = max(scores.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    return chosen, scores


def predict_from_context(frames: Sequence[torch.Tensor], interp: InterpFn, settings: VFIOptSettings,
                         flow_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                         observed: Optional[torch.Tensor] = None, num_iters: Optional[int] = None,
                         progress: bool = False, stop_at: Optional[int] = None) -> dict:
    """Predict the frame after ``frames`` using the last :attr:`VFIOptSettings.context_size` of them.

    Without ``settings.select_iters`` this is :func:`predict_next` (with ``x(t−2)`` for ``calibrate``). With
    it, the iteration count is chosen on a *held-back step* first: the same optimisation (same settings and
    schedule, calibrated on the frames before) predicts the last context frame ``x(t)`` from the frames before it,
    with snapshots at the candidate counts ``select_iters ∩ [0, N]`` plus ``N`` itself (``N`` = ``num_iters``);
    the count with the highest PSNR against the real ``x(t)`` (ties: the smaller count) is then run for
    ``x(t+1)``. Choosing 0 returns the initialisation, so the step can only lose where the held-back step misleads.

    Args:
        frames: ``K >= settings.context_size`` frames ``(B, 3, H, W)`` in [0, 1], oldest first.
        interp: see :data:`InterpFn`.
        settings: :class:`VFIOptSettings`.
        flow_fn: ``flow_fn(src, dst) -> flow(src, dst)`` ``(B, 2, H, W)`` (the flow source).
        observed: ``flow(frames[-1], frames[-2])`` when already known.
        num_iters: overrides ``settings.num_iters``.
        progress: tqdm bars.
        stop_at: skip the held-back step and stop after this many iterations (a count chosen before, e.g. on the
            real frames when later steps of a recursion have predicted frames in their context).

    Returns:
        the dict of :func:`predict_next` plus ``selection``: ``None``, or ``{'chosen': k, 'psnr': {k: dB}}`` (the
        held-back PSNR of every candidate, mean over the batch; one count is chosen for the whole batch).
    """
    frames = list(frames)
    need = settings.context_size
    if len(frames) < need:
        raise ValueError(f'VFI-opt: these settings need {need} context frames (2, +1 for calibrate, +1 for '
                         f'select_iters), got {len(frames)}')
    n = settings.num_iters if num_iters is None else int(num_iters)
    if n < 0:
        raise ValueError(f'VFI-opt: num_iters must be >= 0, got {n}')
    cal = settings.calibrate
    if observed is None:
        with torch.no_grad():
            observed = flow_fn(frames[-1], frames[-2])
    selection = None
    if settings.select_iters is not None and stop_at is None:
        cands = sorted({k for k in settings.select_iters if k <= n} | {n})
        ctx = frames[:-1]
        with torch.no_grad():
            obs_val = flow_fn(ctx[-1], ctx[-2])
        val = predict_next(ctx[-2], ctx[-1], interp, settings, observed=obs_val, num_iters=n, progress=progress,
                           prev2=ctx[-3] if cal else None, snapshots=cands)
        stop_at, scores = choose_by_psnr(val['snapshots'], frames[-1])
        selection = dict(chosen=stop_at, psnr=scores)
    out = predict_next(frames[-2], frames[-1], interp, settings, observed=observed, num_iters=n,
                       progress=progress, prev2=frames[-3] if cal else None, stop_at=stop_at)
    out['selection'] = selection
    return out
