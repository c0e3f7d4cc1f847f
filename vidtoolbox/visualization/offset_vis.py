"""Pictures of learned alignment offsets: colour-coded offsets, diversity heatmaps, image grids.

Offsets follow ``docs/conventions.md``: ``(G·N·2, H, W)`` per sample (or ``(B, G·N·2, H, W)``; the first sample
is used), channel ``2·(g·N + n)`` = dy and ``+1`` = dx of offset ``n`` of group ``g``. They are swapped to the
flow order (dx, dy) before colour coding with :func:`~vidtoolbox.visualization.flow_vis.flow_to_color`, so an
offset that equals ``flow(ref, nbr)`` gets the same colour as that flow.

Heatmaps use a matplotlib colormap (no figure, no display); :func:`save_heatmap_figure` renders a titled figure
with a colour bar through the Agg canvas (never pyplot), so it works headless and in worker processes.
"""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch

from vidtoolbox.evaluation.offset_stats import offset_diversity_map, split_offsets
from .flow_vis import flow_to_color

__all__ = ['offsets_to_flow', 'offsets_to_color', 'diversity_heatmap', 'colorize_scalar_map', 'make_grid',
           'save_heatmap_figure', 'to_uint8_image']


def _first_sample(offsets) -> torch.Tensor:
    if isinstance(offsets, np.ndarray):
        offsets = torch.from_numpy(offsets)
    if not isinstance(offsets, torch.Tensor):
        raise TypeError(f'offsets must be a tensor or array (G*N*2, H, W), got {type(offsets).__name__}')
    offsets = offsets.detach().cpu().float()
    if offsets.dim() == 3:
        offsets = offsets.unsqueeze(0)
    if offsets.dim() != 4:
        raise ValueError(f'offsets must be (G*N*2, H, W) or (B, G*N*2, H, W), got shape {tuple(offsets.shape)}')
    return offsets[:1]


def offsets_to_flow(offsets, num_groups: int = 1, group: Optional[int] = 0,
                    index: Union[int, str, None] = None) -> np.ndarray:
    """Pick (or average) offsets and return them as a flow-ordered ``(2, H, W)`` float array (dx, dy).

    Args:
        offsets: ``(G·N·2, H, W)`` or ``(B, G·N·2, H, W)`` (sample 0 is used), (dy, dx) layout.
        num_groups: G.
        group: the group g in ``[0, G)``; ``None`` averages over all groups.
        index: the offset n in ``[0, N)``; ``None`` or ``'mean'`` averages the N offsets of the chosen group(s).

    Raises:
        IndexError: ``group`` / ``index`` out of range (the message gives the valid range).
    """
    off = split_offsets(_first_sample(offsets), num_groups)[0]  # (G, N, 2, H, W)
    G, N = off.shape[:2]
    if group is not None:
        if not 0 <= int(group) < G:
            raise IndexError(f'offsets_to_flow: group {group} out of range; these offsets have G={G} groups')
        off = off[int(group):int(group) + 1]
    if index is None or index == 'mean':
        vec = off.mean(dim=(0, 1))
    else:
        if not 0 <= int(index) < N:
            raise IndexError(f'offsets_to_flow: offset index {index} out of range; each group has N={N} offsets')
        vec = off[:, int(index)].mean(dim=0)
    return vec.flip(0).numpy()  # (dy, dx) -> (dx, dy)


def offsets_to_color(offsets, num_groups: int = 1, group: Optional[int] = 0, index: Union[int, str, None] = None,
                     max_rad: Optional[float] = None) -> np.ndarray:
    """Colour-code one offset (or the mean of several) like optical flow.

    Args: see :func:`offsets_to_flow`; ``max_rad`` as in :func:`flow_to_color` (pass the same value as for the
        flow picture to compare them).

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    return flow_to_color(offsets_to_flow(offsets, num_groups, group, index), max_rad=max_rad)


def colorize_scalar_map(values, vmin: Optional[float] = None, vmax: Optional[float] = None,
                        cmap: str = 'viridis') -> np.ndarray:
    """Map a ``(H, W)`` array through a matplotlib colormap → ``(H, W, 3)`` uint8 RGB.

    ``vmin``/``vmax`` default to the array's finite min/max; values are clipped to them. Non-finite values are
    drawn black.
    """
    import matplotlib
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f'colorize_scalar_map: expected a (H, W) map, got shape {values.shape}')
    try:
        cm = matplotlib.colormaps[cmap]
    except KeyError:
        raise ValueError(f'colorize_scalar_map: unknown matplotlib colormap {cmap!r}') from None
    finite = np.isfinite(values)
    lo = float(values[finite].min()) if vmin is None and finite.any() else float(vmin or 0.0)
    hi = float(values[finite].max()) if vmax is None and finite.any() else float(vmax if vmax is not None else 1.0)
    span = hi - lo if hi > lo else 1.0
    norm = np.clip((np.where(finite, values, lo) - lo) / span, 0.0, 1.0)
    rgb = (cm(norm)[..., :3] * 255.0 + 0.5).astype(np.uint8)
    rgb[~finite] = 0
    return rgb


def diversity_heatmap(offsets, num_groups: int = 1, vmax: Optional[float] = None,
                      cmap: str = 'viridis') -> np.ndarray:
    """Heatmap of the pixelwise offset diversity (:func:`~vidtoolbox.evaluation.offset_stats.offset_diversity_map`,
    averaged over groups) of sample 0: ``(H, W, 3)`` uint8, 0 px → the colormap's low end, ``vmax`` (default: the
    map's maximum) → its high end."""
    div = offset_diversity_map(_first_sample(offsets), num_groups)[0].mean(0)
    return colorize_scalar_map(div, vmin=0.0, vmax=vmax if vmax is not None else float(div.max()), cmap=cmap)


def to_uint8_image(img) -> np.ndarray:
    """A ``(3, H, W)`` / ``(H, W, 3)`` / ``(H, W)`` float image in [0, 1] or uint8 → ``(H, W, 3)`` uint8."""
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = np.moveaxis(img, 0, -1)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[-1] not in (1, 3):
        raise ValueError(f'to_uint8_image: expected an image (H, W, 3), (3, H, W) or (H, W), got shape {img.shape}')
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    if img.dtype != np.uint8:
        img = np.clip(np.rint(img.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def make_grid(images: Sequence, ncols: Optional[int] = None, labels: Optional[Sequence[str]] = None,
              pad: int = 2, pad_value: int = 255, cell_size=None) -> np.ndarray:
    """Compose images into one ``(H, W, 3)`` uint8 grid (row-major), optionally labelled.

    Args:
        images: images accepted by :func:`to_uint8_image` (float [0, 1] or uint8), any sizes.
        ncols: columns (default: all in one row).
        labels: one caption per image, drawn in a strip above it (``None`` / empty strings: no caption).
        pad: pixels between cells and around the grid.
        pad_value: grey level of the padding.
        cell_size: ``(h, w)`` every image is resized to (nearest neighbour, keeps offsets' pixels visible);
            default: the largest height and width; smaller images are centred on the padding colour.
    """
    import cv2
    imgs: List[np.ndarray] = [to_uint8_image(im) for im in images]
    if not imgs:
        raise ValueError('make_grid: no images given')
    if labels is not None and len(labels) != len(imgs):
        raise ValueError(f'make_grid: {len(labels)} labels for {len(imgs)} images; give one label per image')
    ncols = len(imgs) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f'make_grid: ncols must be >= 1, got {ncols}')
    if cell_size is not None:
        ch, cw = int(cell_size[0]), int(cell_size[1])
        imgs = [cv2.resize(im, (cw, ch), interpolation=cv2.INTER_NEAREST) if im.shape[:2] != (ch, cw) else im
                for im in imgs]
    else:
        ch, cw = max(im.shape[0] for im in imgs), max(im.shape[1] for im in imgs)
    label_h = 14 if labels is not None and any(labels) else 0
    nrows = (len(imgs) + ncols - 1) // ncols
    H = nrows * (ch + label_h + pad) + pad
    W = ncols * (cw + pad) + pad
    grid = np.full((H, W, 3), pad_value, np.uint8)
    for i, im in enumerate(imgs):
        r, c = divmod(i, ncols)
        y0 = pad + r * (ch + label_h + pad)
        x0 = pad + c * (cw + pad)
        if label_h and labels[i]:
            cv2.putText(grid, str(labels[i]), (x0, y0 + label_h - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1,
                        cv2.LINE_AA)
        oy = y0 + label_h + (ch - im.shape[0]) // 2
        ox = x0 + (cw - im.shape[1]) // 2
        grid[oy:oy + im.shape[0], ox:ox + im.shape[1]] = im
    return grid


def save_heatmap_figure(path: str, values, title='', cmap: str = 'viridis', vmin: Optional[float] = None,
                        vmax: Optional[float] = None, label: str = 'px', dpi: int = 80) -> str:
    """Save one or several ``(H, W)`` maps as a PNG figure: one panel per map side by side, a shared colour scale
    and one colour bar (matplotlib's Agg canvas, no pyplot).

    Args:
        path: PNG file to write.
        values: a ``(H, W)`` map or a list of maps (arrays or tensors).
        title: a title, or one per map.
        vmin / vmax: colour range (default: the finite min / max over all maps).
        label: colour-bar label.

    Returns:
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    maps = values if isinstance(values, (list, tuple)) else [values]
    maps = [np.asarray(m.detach().cpu().numpy() if isinstance(m, torch.Tensor) else m, dtype=np.float64)
            for m in maps]
    if not maps or any(m.ndim != 2 for m in maps):
        raise ValueError(f'save_heatmap_figure: expected (H, W) maps, got shapes {[m.shape for m in maps]}')
    titles = list(title) if isinstance(title, (list, tuple)) else [title] + [''] * (len(maps) - 1)
    if len(titles) != len(maps):
        raise ValueError(f'save_heatmap_figure: {len(titles)} titles for {len(maps)} maps')
    finite = np.concatenate([m[np.isfinite(m)] for m in maps])
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    h, w = maps[0].shape
    panel = 2.5
    fig = Figure(figsize=(panel * len(maps) * max(0.5, w / max(h, 1)) + 1.0, panel + 0.6), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(maps), squeeze=False)[0]
    im = None
    for ax, m, t in zip(axes, maps, titles):
        im = ax.imshow(m, cmap=cmap, vmin=lo, vmax=hi, interpolation='nearest')
        ax.set_title(t, fontsize=8)
        ax.set_axis_off()
    fig.colorbar(im, ax=list(axes), label=label, fraction=0.046, pad=0.04)
    fig.savefig(path, format='png')
    return path
