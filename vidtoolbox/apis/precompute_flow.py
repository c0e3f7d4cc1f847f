"""Precompute the reference flows of a dataset once (what ``tools/precompute_flow.py`` calls).

For every sample of a config's dataset, ``flow(ref, t)`` for each frame ``t != ref`` of its clip is estimated on the
whole LR frames (by default with the flow source of the pipeline's ``EstimateRefFlows``, else OpenCV DIS 'medium')
and written as a Middlebury ``.flo`` file at ``root/pattern.format(key=..., src=ref, dst=t, ref_index=ref)`` —
the layout :class:`~vidtoolbox.datasets.transforms.LoadRefFlows` and :class:`~vidtoolbox.models.flow.FileFlow`
read. The estimate is :class:`~vidtoolbox.datasets.transforms.EstimateRefFlows` itself, so the files hold the
numbers that transform gives on the same (uncropped) frames.

Samples are taken as the dataset lists them, with deterministic windows (``random_window=False`` for datasets that
have it, e.g. REDS): for REDS in ``gt_mode='center'`` with ``interval_list=[1]`` this covers every window training
can draw (a training window whose centre is redrawn is the stored window of the new centre, and its key names that
centre). Random temporal intervals are refused (the frames at a position would depend on the draw).

Everything is written to a hidden temporary folder that is renamed onto the output folder when complete: a failed
or interrupted run leaves nothing under that name.
"""
import copy
import inspect
import os
import os.path as osp
from typing import Callable, Optional

import cv2

from vidtoolbox.utils.atomic import AtomicPath
from vidtoolbox.utils.errors import UserInputError

__all__ = ['precompute_ref_flows', 'DEFAULT_PATTERN', 'SPLITS']

#: FileFlow's / LoadRefFlows' default pattern
DEFAULT_PATTERN = '{key}/flow_{src}_{dst}.flo'
#: dataloaders of a config whose dataset can be precomputed
SPLITS = ('train', 'val', 'test')


def _pipeline_entry(pipeline, type_name):
    for t in pipeline or []:
        if isinstance(t, dict) and t.get('type') == type_name:
            return t
    return None


def precompute_ref_flows(config: str, out: Optional[str] = None, split: str = 'train', flow: Optional[dict] = None,
                         pattern: Optional[str] = None, overwrite: bool = False, cfg_options: Optional[dict] = None,
                         log: Callable[[str], None] = print, log_every: int = 500) -> dict:
    """Write ``flow(ref, t)`` of every sample of the config's ``<split>_dataloader`` dataset as ``.flo`` files.

    Args:
        config: config file path.
        out: output folder; default the ``root`` of a ``LoadRefFlows`` in that dataset's pipeline.
        split: ``'train'`` (default), ``'val'`` or ``'test'``: which dataloader's dataset.
        flow: flow-source config; default the ``flow`` of an ``EstimateRefFlows`` in the pipeline (its default
            ``DISFlow`` when it sets none), else ``dict(type='DISFlow')``.
        pattern: file pattern (fields ``key``, ``src``, ``dst``, ``ref_index``); default the ``LoadRefFlows``
            pattern of the pipeline, else :data:`DEFAULT_PATTERN`.
        overwrite: replace an existing output folder (default: refuse).
        cfg_options: ``--cfg-options`` overrides.
        log: progress printer; ``log_every`` samples between progress lines.

    Returns:
        ``dict(out=<folder>, samples=<samples>, files=<files written>, flow=<flow config used>, pattern=...)``.

    Raises:
        UserInputError: no output folder, an existing one without ``overwrite``, a dataset with random temporal
            intervals, a sample without frames, a flow source that cannot estimate.
        DatasetNotFoundError: the dataset's files are missing (the dataset's own message).
    """
    from mmengine.registry import DefaultScope

    from vidtoolbox.datasets.transforms import EstimateRefFlows, LoadFramesFromFiles
    from vidtoolbox.registry import DATASETS
    from .loading import load_config

    if split not in SPLITS:
        raise UserInputError(f'split must be one of {SPLITS}, got {split!r}')
    cfg = load_config(config, cfg_options)
    loader = cfg.get(f'{split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise UserInputError(f'config {config!r} has no {split}_dataloader.dataset')
    ds_cfg = copy.deepcopy(loader['dataset'].to_dict() if hasattr(loader['dataset'], 'to_dict')
                           else dict(loader['dataset']))
    pipeline = ds_cfg.get('pipeline') or []
    load_entry = _pipeline_entry(pipeline, 'LoadRefFlows')
    est_entry = _pipeline_entry(pipeline, 'EstimateRefFlows')
    if out is None:
        if load_entry is None or 'root' not in load_entry:
            raise UserInputError(f"give the output folder (--out DIR): the {split} pipeline of {config!r} has no "
                                 "LoadRefFlows(root=...) to take it from")
        out = load_entry['root']
    if pattern is None:
        pattern = (load_entry or {}).get('pattern', DEFAULT_PATTERN)
    if flow is None:
        flow = dict((est_entry or {}).get('flow') or dict(type='DISFlow'))
    intervals = list(ds_cfg.get('interval_list', [1]))
    if any(i != 1 for i in intervals):
        raise UserInputError(f'the dataset draws temporal intervals {intervals}: precomputed flows are stored per '
                             'sample key and frame position of interval-1 windows; set interval_list=[1] or estimate '
                             "the flows in the pipeline (dict(type='EstimateRefFlows'))")
    out = osp.abspath(os.fspath(out))
    if osp.lexists(out) and not overwrite:
        raise UserInputError(f'output folder {out} exists; pass --overwrite to replace it')

    ds_cfg['pipeline'] = []
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'vidtoolbox')):
        cls = DATASETS.get(ds_cfg['type']) if isinstance(ds_cfg['type'], str) else ds_cfg['type']
        if cls is not None and 'random_window' in inspect.signature(cls.__init__).parameters:
            ds_cfg['random_window'] = False  # the stored windows, not a random draw
        dataset = DATASETS.build(ds_cfg)
        try:
            estimate = EstimateRefFlows(flow=flow, frames_key='lq', overwrite=True)
        except (TypeError, ValueError, KeyError) as err:
            raise UserInputError(f'flow {flow!r}: {err}') from err
    loader_t = LoadFramesFromFiles(keys=('lq',))
    # the reader checks the pattern's fields and builds the paths exactly as LoadRefFlows / FileFlow will
    from vidtoolbox.models.flow.file_flow import FileFlow
    try:
        names = FileFlow(out, pattern)
    except (TypeError, ValueError) as err:
        raise UserInputError(str(err)) from err

    seen, files = set(), 0
    n = len(dataset)
    with AtomicPath(out, is_dir=True, overwrite=overwrite) as tmp:
        writer = FileFlow(tmp.tmp, pattern)
        for i in range(n):
            info = dataset.get_data_info(i)
            key = info.get('key')
            if key is None:
                raise UserInputError(f'sample {i} of the dataset has no "key" to name its flow files by')
            if key in seen:
                continue
            seen.add(key)
            if 'lq' not in info:
                if 'lq_paths' not in info:
                    raise UserInputError(f'sample {key!r} has neither lq frames nor lq_paths to load them from')
                info = loader_t(info)
            info.pop('ref_flows', None)
            flows = estimate(info)['ref_flows']
            ref = int(info['ref_index'])
            for t, f in enumerate(flows):
                if t == ref:
                    continue
                path = writer.path_for(key, ref, t, ref)
                os.makedirs(osp.dirname(path), exist_ok=True)
                if not cv2.writeOpticalFlow(path, f):
                    raise OSError(f'could not write {path}')
                files += 1
            if log is not None and log_every and (len(seen) % log_every == 0):
                log(f'{len(seen)} samples ({i + 1}/{n} entries), {files} flow files')
    return dict(out=out, samples=len(seen), files=files, flow=flow, pattern=names.pattern)
