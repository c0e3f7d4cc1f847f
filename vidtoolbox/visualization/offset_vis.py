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
           'save_heatmap_figure', 'to_uint8_image', 'render_level_composite', 'figure_to_rgb',
           'render_alignment_levels']


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


def figure_to_rgb(fig) -> np.ndarray:
    """Render a matplotlib ``Figure`` (Agg canvas) to an ``(H, W, 3)`` uint8 RGB array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])


def _scalar_flow(flow) -> np.ndarray:
    if isinstance(flow, torch.Tensor):
        flow = flow.detach().cpu().float().numpy()
    return np.asarray(flow, dtype=np.float64)


def render_level_composite(title: str, rows: Sequence[dict], cell_px: int = 256) -> np.ndarray:
    """One labelled picture of one alignment level: a row per neighbour frame, columns = reference frame,
    neighbour frame, the flow the offsets are compared with, the mean offset, the offset diversity; plus the colour
    wheel with its scale in pixels and the diversity colour bar. Every cell is at least ``cell_px`` pixels wide
    (small levels are upscaled, nearest neighbour, so the offsets' pixels stay visible).

    Args:
        title: the figure title (level name, stride, statistics).
        rows: one dict per neighbour with ``ref`` and ``nbr`` images (``(3, h, w)`` / ``(h, w, 3)`` in [0, 1]
            or uint8, at the level's resolution), ``flow`` (``(2, h, w)`` (dx, dy) pixels of the level, or None),
            ``offsets`` (``(G·N·2, h, w)`` or ``(1, G·N·2, h, w)``, (dy, dx) layout), ``num_groups`` G and a ``label``
            (e.g. ``'frame 0'``).

    Returns:
        ``(H, W, 3)`` uint8 RGB. Flow and offsets of all rows share one colour scale: the wheel's rim is the longest
        vector drawn (its length is printed next to the wheel); the diversity heatmaps share one colour bar.
    """
    from matplotlib.figure import Figure
    if not rows:
        raise ValueError('render_level_composite: no rows (records) to draw')
    prepared, rad, dmax = [], 1e-6, 1e-6
    for r in rows:
        G = int(r.get('num_groups', 1))
        mean_fl = offsets_to_flow(r['offsets'], G, group=None, index=None)
        flow = None if r.get('flow') is None else _scalar_flow(r['flow'])
        div = offset_diversity_map(_first_sample(r['offsets']), G)[0].mean(0).numpy()
        for f in [mean_fl] + ([flow] if flow is not None else []):
            fin = np.hypot(f[0], f[1])
            fin = fin[np.isfinite(fin)]
            if fin.size:
                rad = max(rad, float(fin.max()))
        if np.isfinite(div).any():
            dmax = max(dmax, float(np.nanmax(div)))
        prepared.append((r, mean_fl, flow, div))
    cols = ['reference', 'neighbour', 'flow(ref, nbr)', 'mean offset', 'offset diversity (std)']
    n = len(prepared)
    h, w = prepared[0][1].shape[-2:]
    cell_in = max(cell_px, 64) / 100.0
    aspect = w / max(h, 1)
    fig = Figure(figsize=(cell_in * aspect * (len(cols) + 0.9) + 0.6, cell_in * n + 1.0), dpi=100)
    gs = fig.add_gridspec(n, len(cols) + 1, width_ratios=[1] * len(cols) + [0.9 / aspect], hspace=0.25, wspace=0.06,
                          left=0.06, right=0.98, top=1 - 0.7 / (cell_in * n + 1.0), bottom=0.02)
    div_im = None
    for i, (r, mean_fl, flow, div) in enumerate(prepared):
        cells = [to_uint8_image(r['ref']), to_uint8_image(r['nbr']),
                 flow_to_color(flow, max_rad=rad) if flow is not None else None,
                 flow_to_color(mean_fl, max_rad=rad)]
        for j, img in enumerate(cells):
            ax = fig.add_subplot(gs[i, j])
            ax.set_xticks([])
            ax.set_yticks([])
            if img is None:
                ax.text(0.5, 0.5, 'no flow', ha='center', va='center', fontsize=9, transform=ax.transAxes)
            else:
                ax.imshow(img, interpolation='nearest')
            if i == 0:
                ax.set_title(cols[j], fontsize=9)
            if j == 0:
                ax.set_ylabel(str(r.get('label', f'row {i}')), fontsize=9)
        ax = fig.add_subplot(gs[i, len(cols) - 1])
        div_im = ax.imshow(div, cmap='viridis', vmin=0.0, vmax=dmax, interpolation='nearest')
        ax.set_xticks([])
        ax.set_yticks([])
        if i == 0:
            ax.set_title(cols[-1], fontsize=9)
    leg = fig.add_subplot(gs[0, len(cols)])
    from .flow_vis import color_wheel_image
    leg.imshow(color_wheel_image(101))
    leg.set_xticks([])
    leg.set_yticks([])
    leg.set_title(f'rim = {rad:.3g} px', fontsize=9)
    if n > 1:
        cax = fig.add_subplot(gs[1:, len(cols)])
        fig.colorbar(div_im, cax=cax, label='diversity (px)')
    else:
        leg.set_xlabel(f'diversity 0 – {dmax:.3g} px', fontsize=8)
    fig.suptitle(title, fontsize=10)
    return figure_to_rgb(fig)


def render_alignment_levels(records: Sequence[dict], frames: Optional[torch.Tensor] = None,
                            ref_flows: Optional[torch.Tensor] = None, sample: int = 0,
                            exclude_reference: bool = True, cell_px: int = 256) -> 'dict':
    """One :func:`render_level_composite` picture per alignment level of a generator's records.

    Args:
        records: alignment records (``aux['alignments']``, :func:`vidtoolbox.models.alignment.alignment_record`),
            grouped by ``name``; records aligning the reference onto itself are left out by default.
        frames: optional LR input ``(B, T, 3, h, w)`` in [0, 1] (area-resized to each level).
        ref_flows: optional ``(B, T, 2, Hf, Wf)`` ``flow(ref, frame t)`` at any resolution (area-resized to each
            level, values scaled); not drawn for residual records (their offsets are corrections).
        sample: the batch element drawn.

    Returns:
        ``{level name: (H, W, 3) uint8 RGB}`` in order of first appearance.
    """
    import torch.nn.functional as F

    from vidtoolbox.evaluation.offset_stats import record_offset_stats, merge_offset_stats, within_key
    from vidtoolbox.ops.flow_warp import resize_flow
    levels = {}
    for rec in records:
        if exclude_reference and rec.get('nbr_index') is not None and rec.get('nbr_index') == rec.get('ref_index'):
            continue
        levels.setdefault(str(rec.get('name', 'align')), []).append(rec)
    out = {}
    for name, recs in levels.items():
        rows, stats = [], []
        for rec in recs:
            off = rec['offsets'][sample:sample + 1].detach().float().cpu()
            h, w = off.shape[-2:]
            G = int(rec.get('deform_groups', 1))
            if off.shape[1] % (2 * G):
                G = 1
            t, ref = rec.get('nbr_index'), rec.get('ref_index')

            def frame(idx):
                if frames is None or idx is None or not 0 <= int(idx) < frames.shape[1]:
                    return np.full((h, w, 3), 255, np.uint8)
                return F.adaptive_avg_pool2d(frames[sample:sample + 1, int(idx)].detach().float().cpu(), (h, w))[0]

            flow = None
            if ref_flows is not None and t is not None and not rec.get('residual', False) \
                    and 0 <= int(t) < ref_flows.shape[1]:
                flow = resize_flow(ref_flows[sample:sample + 1, int(t)].detach().float().cpu(), (h, w),
                                   mode='area')[0]
            stats.append(record_offset_stats(dict(rec, offsets=off), None if flow is None else flow[None], G))
            rows.append(dict(ref=frame(ref), nbr=frame(t), flow=flow, offsets=off, num_groups=G,
                             label=f'frame {t}' if t is not None else ''))
        st = merge_offset_stats(stats)
        extra = f', within 1 px of the flow {st[within_key(1.0)]:.0%}' if within_key(1.0) in st else ''
        rec0 = recs[0]
        title = (f'{name} (stride {rec0.get("stride", 1)}, G={int(rec0.get("deform_groups", 1))}, '
                 f'N={int(rec0.get("num_offsets", 1))}{", residual" if rec0.get("residual") else ""}): '
                 f'mean |offset| {st["mean"]:.3g} px, max {st["max"]:.3g} px, diversity {st["diversity"]:.3g} px'
                 f'{extra}')
        out[name] = render_level_composite(title, rows, cell_px=cell_px)
    return out
