"""Precomputed reference flows (``.flo`` files, e.g. written by ``tools/precompute_flow.py``) read into a sample."""
import os
from typing import Union

import numpy as np
from mmcv.transforms import BaseTransform

from vidtoolbox.registry import TRANSFORMS
from vidtoolbox.utils.errors import DatasetNotFoundError
from .crop import get_list

__all__ = ['LoadRefFlows']


@TRANSFORMS.register_module()
class LoadRefFlows(BaseTransform):
    """Read ``ref_flows`` = ``flow(ref, t)`` of a sample from ``.flo`` files located like
    :class:`~vidtoolbox.models.flow.FileFlow` locates them (its ``root`` / ``pattern`` and path logic).

    The file of ``flow(ref, t)`` is ``root/pattern.format(key=key, src=ref_index, dst=t, ref_index=ref_index)``
    (default pattern ``'{key}/flow_{src}_{dst}.flo'``), ``t`` the frame's position in the sample's clip. Place it
    after the frames are loaded and **before** the crop, flips, transposes and temporal reverse: those transform the
    flows with the frames (:class:`PairedRandomCrop` crops flows of the LR size with the LR window, flows of the GT
    size with the GT window).

    Precomputed flows are estimated on whole frames and then cropped: near the borders of a training patch they may
    differ from flows estimated on the patch itself (:class:`EstimateRefFlows` after the crop); without a crop they
    are the same numbers when the files were written with the same source (``tools/precompute_flow.py``).

    Required keys: ``key`` (str), ``ref_index`` (int), ``lq`` (list of T frames; T and the frame sizes are read
    from it). Added: ``ref_flows``, T ``(H, W, 2)`` float32 arrays ``(dx, dy)`` in pixels of the files (the LR size
    or the GT size of the sample), ``ref_flows[ref_index]`` zero (no file is read for it).

    The files are keyed by sample key and frame *position*: the frames at a position must not depend on a random
    draw. Samples whose ``interval`` (REDS's random temporal interval) is not 1 are refused.

    Args:
        root: folder the pattern is relative to.
        pattern: format string with fields ``key``, ``src``, ``dst``, ``ref_index`` (as :class:`FileFlow`).
        overwrite: replace a ``ref_flows`` the sample already carries (default False: an error).

    Raises:
        DatasetNotFoundError: a flow file is missing (the message names it and how to write the files).
        KeyError / ValueError: a missing key, ``ref_flows`` already present, a file that is not a ``.flo`` flow, flows whose size is neither the
            LR nor the GT frame size, a sample drawn with an interval other than 1.
    """

    def __init__(self, root: Union[str, os.PathLike], pattern: str = '{key}/flow_{src}_{dst}.flo',
                 overwrite: bool = False):
        from vidtoolbox.models.flow.file_flow import FileFlow
        self.reader = FileFlow(root, pattern)  # checks root and pattern; its path_for / read are used below
        self.overwrite = bool(overwrite)

    @property
    def root(self) -> str:
        return self.reader.root

    @property
    def pattern(self) -> str:
        return self.reader.pattern

    def transform(self, results: dict) -> dict:
        who = 'LoadRefFlows'
        for k in ('key', 'ref_index', 'lq'):
            if k not in results:
                raise KeyError(f'{who}: results has no {k!r} (keys: {sorted(results)})')
        if 'ref_flows' in results and not self.overwrite:
            raise KeyError(f"{who}: the sample already carries ref_flows (e.g. the dataset's ground truth); pass "
                           'overwrite=True to replace them with the files, or drop this transform')
        interval = results.get('interval', 1)
        if interval != 1:
            raise ValueError(f'{who}: sample {results["key"]!r} was drawn with temporal interval {interval}; '
                             'precomputed flows are stored per frame position of interval-1 windows. Use '
                             "interval_list=[1] or estimate the flows in the pipeline (dict(type='EstimateRefFlows'))")
        lq = get_list(results, 'lq', who)
        T = len(lq)
        ref = results['ref_index']
        if isinstance(ref, bool) or not isinstance(ref, (int, np.integer)) or not 0 <= ref < T:
            raise ValueError(f'{who}: ref_index must be an int in [0, {T}), got {ref!r}')
        ref, key = int(ref), results['key']
        sizes = {tuple(lq[0].shape[:2]): 'LR'}
        if 'gt' in results:
            gt = get_list(results, 'gt', who)
            if gt:
                sizes.setdefault(tuple(gt[0].shape[:2]), 'GT')
        flows = [None] * T
        for t in range(T):
            if t == ref:
                continue
            path = self.reader.path_for(key, ref, t, ref)
            if not os.path.isfile(path):
                raise DatasetNotFoundError(
                    f'{who}: no flow file {path!r} for flow({ref}, {t}) of sample {key!r} (root={self.root!r}, '
                    f'pattern={self.pattern!r}); write them with `python tools/precompute_flow.py CONFIG`')
            f = self.reader.read(key, ref, t, ref)
            if tuple(f.shape[:2]) not in sizes:
                expected = ', '.join(f'{v} {h}x{w}' for (h, w), v in sizes.items())
                raise ValueError(f'{who}: {path!r} holds a {f.shape[0]}x{f.shape[1]} flow; expected the LR or GT '
                                 f'frame size of the sample ({expected})')
            flows[t] = f
        shapes = {f.shape for f in flows if f is not None}
        if len(shapes) > 1:
            raise ValueError(f'{who}: the flow files of sample {key!r} have different sizes {sorted(shapes)}')
        shape = shapes.pop() if shapes else (*lq[0].shape[:2], 2)
        flows[ref] = np.zeros(shape, np.float32)
        results['ref_flows'] = flows
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(root={self.root!r}, pattern={self.pattern!r}, overwrite={self.overwrite})'
