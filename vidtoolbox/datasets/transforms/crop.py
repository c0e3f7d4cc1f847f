"""Spatial cropping of a video results dict (keys and shapes: ``docs/conventions.md``)."""
from typing import List, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from vidtoolbox.registry import TRANSFORMS

__all__ = ['PairedRandomCrop']

#: lists of ``(H, W, 3)`` images (``lq`` at LQ resolution, ``gt`` at GT resolution)
IMAGE_KEYS = ('lq', 'gt')
#: lists of ``(H, W, 2)`` flow fields ``(dx, dy)``, at GT resolution (datasets' ground truth) or at LR resolution
#: (flows estimated on the LR frames, e.g. precomputed ``ref_flows``); :class:`PairedRandomCrop` tells them by size
FLOW_KEYS = ('flow_fw', 'flow_bw', 'ref_flows')
#: lists of ``(H, W, 1)`` {0, 1} masks, at GT or LR resolution like the flows
MASK_KEYS = ('occ_fw', 'occ_bw')
#: occlusion mask key → the flow whose correspondences it describes
PAIRED_OCC_FLOW = {'occ_fw': 'flow_fw', 'occ_bw': 'flow_bw'}


def get_list(results: dict, key: str, who: str) -> List[np.ndarray]:
    """``results[key]`` checked to be a list/tuple of numpy arrays with >= 2 dims (returned as a list)."""
    value = results[key]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, np.ndarray) and v.ndim >= 2 for v in value):
        raise TypeError(f'{who}: results[{key!r}] must be a list of numpy arrays (H, W[, C]) '
                        f'(see docs/conventions.md), got {type(value).__name__}')
    return list(value)


def _pair(v, name: str) -> Tuple[int, int]:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = (int(v), int(v))
    if (not isinstance(v, Sequence) or len(v) != 2
            or not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x >= 1 for x in v)):
        raise ValueError(f'{name} must be a positive int or (h, w) pair of positive ints, got {v!r}')
    return int(v[0]), int(v[1])


@TRANSFORMS.register_module()
class PairedRandomCrop(BaseTransform):
    """Crop aligned LQ/GT patches at one random position shared by all frames and all flow and mask fields.

    The LQ patch is ``gt_patch_size / scale``; its top-left corner ``(y, x)`` is uniform over the valid
    LQ positions and the GT window starts at ``(scale·y, scale·x)``, so LQ pixel ``i`` of the patch
    still covers GT pixels ``scale·i … scale·i + scale − 1``. Flow and mask fields are cropped with the GT window
    when they have the GT size and with the LQ window when they have the LQ size (flows estimated on the LR frames,
    e.g. precomputed ``ref_flows``); each field list has one size. Flows are unchanged by a crop (a
    translation of both frames); occlusion masks ``occ_fw``/``occ_bw`` additionally get 1 where the
    correspondence ``p + flow`` now leaves the cropped window (it is no longer visible).

    Required keys: ``lq`` (list of ``(h, w, 3)``), ``gt`` (list of ``(H, W, 3)``), ``scale`` (int;
    ``H = scale·h``, ``W = scale·w``). Modified when present: ``lq``, ``gt``, ``flow_fw``, ``flow_bw``,
    ``ref_flows``, ``occ_fw``, ``occ_bw``. Added: ``crop_bbox_gt`` = ``(y0, x0, y1, x1)`` in GT pixels.

    Args:
        gt_patch_size: GT patch side (int) or ``(h, w)``; must be divisible by ``scale``.

    Raises:
        KeyError: a required key is missing.
        ValueError: LQ×scale differs from the GT size, frames of one list differ in size, the patch is
            not divisible by the scale, or the patch is larger than the frames (messages give the sizes).
    """

    def __init__(self, gt_patch_size: Union[int, Sequence[int]]):
        self.gt_patch_size = _pair(gt_patch_size, 'PairedRandomCrop: gt_patch_size')

    def transform(self, results: dict) -> dict:
        for k in ('lq', 'gt', 'scale'):
            if k not in results:
                raise KeyError(f'PairedRandomCrop: results has no {k!r} (keys: {sorted(results)})')
        scale = results['scale']
        if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
            raise ValueError(f'PairedRandomCrop: results["scale"] must be a positive int, got {scale!r}')
        scale = int(scale)
        lq, gt = get_list(results, 'lq', 'PairedRandomCrop'), get_list(results, 'gt', 'PairedRandomCrop')
        if not lq or not gt:
            raise ValueError('PairedRandomCrop: lq and gt must be non-empty lists')
        h, w = lq[0].shape[:2]
        H, W = gt[0].shape[:2]
        for name, frames, size in (('lq', lq, (h, w)), ('gt', gt, (H, W))):
            for i, f in enumerate(frames):
                if f.shape[:2] != size:
                    raise ValueError(f'PairedRandomCrop: {name}[{i}] is {f.shape[:2]} but {name}[0] is {size}; '
                                     'all frames of a clip must have the same size')
        if (H, W) != (h * scale, w * scale):
            raise ValueError(f'PairedRandomCrop: GT size {H}x{W} is not scale ({scale}) × LQ size {h}x{w} '
                             f'(expected GT {h * scale}x{w * scale})')
        ph, pw = self.gt_patch_size
        if ph % scale or pw % scale:
            raise ValueError(f'PairedRandomCrop: gt_patch_size {ph}x{pw} is not divisible by scale {scale}')
        lph, lpw = ph // scale, pw // scale
        if ph > H or pw > W:
            raise ValueError(f'PairedRandomCrop: GT patch {ph}x{pw} (LQ {lph}x{lpw}) is larger than the GT frames '
                             f'{H}x{W} (LQ {h}x{w})')
        y = np.random.randint(0, h - lph + 1)
        x = np.random.randint(0, w - lpw + 1)
        Y, X = y * scale, x * scale
        results['lq'] = [np.ascontiguousarray(f[y:y + lph, x:x + lpw]) for f in lq]
        results['gt'] = [np.ascontiguousarray(f[Y:Y + ph, X:X + pw]) for f in gt]
        # GT-size fields take the GT window, LQ-size fields the LQ window (the GT one when the sizes coincide)
        windows = {(H, W): (Y, X, ph, pw)}
        windows.setdefault((h, w), (y, x, lph, lpw))
        for key in FLOW_KEYS + MASK_KEYS:
            if key in results:
                fields = get_list(results, key, 'PairedRandomCrop')
                if not fields:
                    continue
                size = fields[0].shape[:2]
                for i, f in enumerate(fields):
                    if f.shape[:2] not in windows or f.shape[:2] != size:
                        raise ValueError(f'PairedRandomCrop: {key}[{i}] is {f.shape[:2]}, expected the GT size '
                                         f'{H}x{W} or the LQ size {h}x{w}, the same for every entry of {key}')
                y0, x0, wh, ww = windows[size]
                results[key] = [np.ascontiguousarray(f[y0:y0 + wh, x0:x0 + ww]) for f in fields]
        # correspondences that leave the cropped window are no longer visible
        for occ_key, flow_key in PAIRED_OCC_FLOW.items():
            if occ_key in results and flow_key in results:
                new = []
                for occ, flow in zip(results[occ_key], results[flow_key]):
                    if occ.shape[:2] != flow.shape[:2]:
                        raise ValueError(f'PairedRandomCrop: {occ_key} is {occ.shape[:2]} but {flow_key} is '
                                         f'{flow.shape[:2]}; an occlusion mask must have the size of its flow')
                    fh, fw = flow.shape[:2]
                    ys, xs = np.mgrid[0:fh, 0:fw]
                    qx, qy = xs + flow[..., 0], ys + flow[..., 1]
                    out = (qx < 0) | (qx > fw - 1) | (qy < 0) | (qy > fh - 1)
                    new.append(np.maximum(occ, out[..., None].astype(occ.dtype)))
                results[occ_key] = new
        results['crop_bbox_gt'] = (Y, X, Y + ph, X + pw)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(gt_patch_size={self.gt_patch_size})'
