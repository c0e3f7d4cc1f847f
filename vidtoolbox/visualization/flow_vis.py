"""Optical-flow colour coding: the Middlebury colour wheel (Baker et al., "A Database and Evaluation Methodology
for Optical Flow", IJCV 2011).

Hue encodes the direction of the flow vector, saturation its length relative to a maximum radius: zero motion
is white, a vector of length ``max_rad`` is the fully saturated wheel colour, and longer vectors (only possible
with an explicit ``max_rad``) are drawn darkened to 75 %. The wheel has 55 colours in six ramps:
red→yellow (15), yellow→green (6), green→cyan (4), cyan→blue (11), blue→magenta (13), magenta→red (6).

The direction is ``atan2(-dy, -dx)`` mapped linearly onto wheel positions ``0 … 54`` (the field's convention,
e.g. the Middlebury ``flowToColor`` and mmcv's ``flow2rgb``), so motion to the **right** (dx > 0, dy = 0) is the
wheel's first colour, pure red; down (dy > 0) is yellow-orange, left cyan-blue, up blue-violet. Flow follows
``docs/conventions.md``: channel 0 = dx (right), channel 1 = dy (down), in pixels.
"""
from typing import Optional, Tuple

import numpy as np
import torch

__all__ = ['make_color_wheel', 'flow_to_color', 'color_wheel_image', 'WHEEL_RAMPS']

#: (name, number of colours) of the six ramps of the Middlebury wheel, in wheel order
WHEEL_RAMPS: Tuple[Tuple[str, int], ...] = (('RY', 15), ('YG', 6), ('GC', 4), ('CB', 11), ('BM', 13), ('MR', 6))


def make_color_wheel() -> np.ndarray:
    """The 55-colour Middlebury wheel as a ``(55, 3)`` float64 array of RGB values in [0, 255].

    Ramp r of length n fills one channel with ``floor(255 · i / n)`` (rising) or ``255 − floor(255 · i / n)``
    (falling), ``i = 0 … n−1``, while another stays at 255.
    """
    # (constant channel, ramp channel, rising?) for RY, YG, GC, CB, BM, MR
    plan = ((0, 1, True), (1, 0, False), (1, 2, True), (2, 1, False), (2, 0, True), (0, 2, False))
    rows = []
    for (_, n), (const, ramp, rising) in zip(WHEEL_RAMPS, plan):
        block = np.zeros((n, 3))
        block[:, const] = 255
        steps = np.floor(255 * np.arange(n) / n)
        block[:, ramp] = steps if rising else 255 - steps
        rows.append(block)
    return np.concatenate(rows, 0)


def flow_to_color(flow, max_rad: Optional[float] = None, convert_to_bgr: bool = False) -> np.ndarray:
    """Colour-code a flow field with the Middlebury wheel.

    Args:
        flow: ``(2, H, W)`` or ``(H, W, 2)`` (numpy or tensor; a leading batch axis of 1 is dropped) in pixels,
            channel 0 = dx, channel 1 = dy. An array whose first axis is 2 is read as ``(2, H, W)`` (so a
            channels-last field with H = 2 must be transposed first).
        max_rad: length that maps to full saturation; default: the longest finite vector of this field
            (a zero field is all white). Vectors longer than ``max_rad`` are darkened (×0.75).
        convert_to_bgr: return BGR (for ``cv2.imwrite``) instead of RGB.

    Returns:
        ``(H, W, 3)`` uint8 image; non-finite vectors are black.
    """
    if isinstance(flow, torch.Tensor):
        flow = flow.detach().cpu().numpy()
    flow = np.asarray(flow)
    if flow.ndim == 4 and flow.shape[0] == 1:
        flow = flow[0]
    if flow.ndim != 3 or (flow.shape[0] != 2 and flow.shape[-1] != 2):
        raise ValueError(f'flow_to_color: flow must be (2, H, W) or (H, W, 2) with channels (dx, dy), got shape '
                         f'{flow.shape}')
    if flow.shape[0] == 2:
        flow = np.moveaxis(flow, 0, -1)
    flow = flow.astype(np.float64)
    u, v = flow[..., 0], flow[..., 1]
    bad = ~(np.isfinite(u) & np.isfinite(v))
    u = np.where(bad, 0.0, u)
    v = np.where(bad, 0.0, v)
    rad = np.sqrt(u * u + v * v)
    if max_rad is None:
        max_rad = float(rad.max()) if rad.size else 0.0
    else:
        max_rad = float(max_rad)
        if not max_rad >= 0:
            raise ValueError(f'flow_to_color: max_rad must be >= 0, got {max_rad!r}')
    eps = np.finfo(np.float64).eps
    u = u / (max_rad + eps)
    v = v / (max_rad + eps)
    rad = np.sqrt(u * u + v * v)

    wheel = make_color_wheel()
    ncols = wheel.shape[0]
    a = np.arctan2(-v, -u) / np.pi  # in [-1, 1]
    a = np.where(a >= 1.0, -1.0, a)  # the seam (motion straight right) maps to the wheel's first colour
    fk = (a + 1.0) / 2.0 * (ncols - 1)
    k0 = np.floor(fk).astype(np.int64)
    k1 = k0 + 1
    k1[k1 == ncols] = 0
    f = (fk - k0)[..., None]
    col = (1 - f) * wheel[k0] / 255.0 + f * wheel[k1] / 255.0
    inside = (rad <= 1)[..., None]
    col = np.where(inside, 1 - rad[..., None] * (1 - col), col * 0.75)
    img = np.floor(255.0 * col).astype(np.uint8)
    img[bad] = 0
    if convert_to_bgr:
        img = np.ascontiguousarray(img[..., ::-1])
    return img


def color_wheel_image(size: int = 101) -> np.ndarray:
    """A ``(size, size, 3)`` uint8 legend: the colour of flow ``(x − c, y − c)`` inside the unit disc
    (``c`` the centre; rim = full saturation), grey outside."""
    if not isinstance(size, int) or size < 3:
        raise ValueError(f'color_wheel_image: size must be an int >= 3, got {size!r}')
    c = (size - 1) / 2.0
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    flow = np.stack([(xs - c) / c, (ys - c) / c], -1)
    img = flow_to_color(flow, max_rad=1.0)
    img[np.hypot(flow[..., 0], flow[..., 1]) > 1.0] = 128
    return img
