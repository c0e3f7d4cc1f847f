"""Side-by-side comparison pictures (bicubic | model | ground truth) with a crop that shows texture."""
from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = ['select_crop', 'render_comparison']


def select_crop(gt: np.ndarray, changed: Optional[np.ndarray] = None, size: int = 64,
                stride: int = 8) -> Tuple[int, int, int, int]:
    """The ``size × size`` window of an image where there is most to see: the highest gradient energy of ``gt``
    (texture, edges), times where the restored image differs from its baseline when ``changed`` is given.

    Args:
        gt: ``(H, W, 3)`` uint8 or float image.
        changed: optional ``(H, W)`` or ``(H, W, 3)`` absolute difference between the model output and the baseline.
        size: window side (clipped to the image).
        stride: search step in pixels.

    Returns:
        ``(y0, x0, h, w)`` of the window.
    """
    g = np.asarray(gt, dtype=np.float64)
    g = g.mean(-1) if g.ndim == 3 else g
    H, W = g.shape
    h, w = min(size, H), min(size, W)
    gy, gx = np.zeros_like(g), np.zeros_like(g)
    gy[1:] = np.abs(np.diff(g, axis=0))
    gx[:, 1:] = np.abs(np.diff(g, axis=1))
    score = gy + gx
    if changed is not None:
        c = np.asarray(changed, dtype=np.float64)
        c = c.mean(-1) if c.ndim == 3 else c
        score = score * (1.0 + c / (c.mean() + 1e-9))
    integral = np.pad(score, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    best, pos = -1.0, (0, 0)
    for y in range(0, H - h + 1, stride):
        for x in range(0, W - w + 1, stride):
            s = integral[y + h, x + w] - integral[y, x + w] - integral[y + h, x] + integral[y, x]
            if s > best:
                best, pos = s, (y, x)
    return pos[0], pos[1], h, w


def render_comparison(images: Sequence[np.ndarray], labels: Sequence[str], title: str = '',
                      cell_px: int = 256) -> np.ndarray:
    """Images side by side, each upscaled (nearest neighbour) to at least ``cell_px`` pixels, labelled.

    Args:
        images: ``(h, w, 3)`` uint8 RGB crops of one size.
        labels: one caption per image (e.g. ``'bicubic 28.13 dB'``).
        title: figure title.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    from matplotlib.figure import Figure

    from .offset_vis import figure_to_rgb
    if len(images) != len(labels) or not images:
        raise ValueError(f'render_comparison: {len(images)} images and {len(labels)} labels; give one label each')
    h, w = images[0].shape[:2]
    cell_in = max(cell_px, 64) / 100.0
    fig = Figure(figsize=(cell_in * len(images) * w / max(h, 1) + 0.2, cell_in + 0.7), dpi=100)
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    for ax, im, lab in zip(axes, images, labels):
        ax.imshow(im, interpolation='nearest')
        ax.set_title(lab, fontsize=10)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.86 if title else 0.92, wspace=0.03)
    return figure_to_rgb(fig)
