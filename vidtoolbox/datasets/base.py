"""Common base class of vidtoolbox's video datasets.

A video dataset is an MMEngine :class:`~mmengine.dataset.BaseDataset` whose ``load_data_list`` yields light
dicts (paths, keys, frame indices, never pixels) and whose ``pipeline`` (registered transforms, ending with
``PackVideoInputs``) turns one of them into ``{'inputs': Tensor, 'data_samples': dict}``. The results-dict keys
follow ``docs/conventions.md`` (``lq``, ``gt``, ``flow_fw``, ``ref_index``, ``scale``, ``key``, ...).

:class:`BaseVideoDataset` adds only what every video dataset shares:

* ``num_frames`` (clip length T) and ``scale`` (GT/LQ size ratio), validated;
* ``ref_index`` = ``num_frames // 2`` (the centre frame), put into every results dict unless the
  data info already carries one;
* a pipeline whose config dicts are built with vidtoolbox's ``TRANSFORMS`` registry (so configs work
  without ``default_scope``);
(the sliding-window frame indices with border padding that frame-based loaders need are
:func:`vidtoolbox.datasets.frames_folder.padded_window_indices`).

It stays ``lazy_init`` friendly: every attribute a subclass's ``load_data_list`` may need is set
*before* ``BaseDataset.__init__`` runs (which calls ``full_init`` unless ``lazy_init=True``), so a
subclass must also set its own attributes before calling ``super().__init__``.
"""
import copy
from typing import Callable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from vidtoolbox.registry import TRANSFORMS

__all__ = ['BaseVideoDataset']



def _check_pos_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}')
    return value


class BaseVideoDataset(BaseDataset):
    """Base of the project's video datasets (MMEngine ``BaseDataset`` + clip length and scale).

    Subclasses implement ``load_data_list() -> list[dict]``; each dict is one sample and should carry at
    least ``key`` (str) plus whatever the first transform reads (e.g. ``lq_paths``/``gt_paths`` for
    :class:`~vidtoolbox.datasets.transforms.LoadFramesFromFiles`). :meth:`get_data_info` adds
    ``scale`` and ``ref_index`` when absent.

    Args:
        num_frames: clip length T (frames per sample), >= 1. The reference frame is ``num_frames // 2``.
        scale: GT/LQ spatial ratio (int >= 1), e.g. 4 for ×4 super-resolution.
        ann_file: annotation/meta file (joined with ``data_root`` when relative), '' when unused.
        data_root: dataset root folder.
        data_prefix: sub-folders, e.g. ``dict(lq='train_sharp_bicubic/X4', gt='train_sharp')``; joined
            with ``data_root`` by MMEngine.
        pipeline: list of transforms or transform config dicts (built with vidtoolbox's TRANSFORMS).
        test_mode: evaluation mode flag (MMEngine semantics).
        lazy_init: if True, ``load_data_list`` runs only on first access (MMEngine semantics).
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments (``indices``,
            ``serialize_data``, ``max_refetch``, ``metainfo``, ``filter_cfg``).

    Raises:
        ValueError: ``num_frames`` or ``scale`` not a positive int.
        TypeError: a pipeline entry is neither a dict nor callable.
    """

    def __init__(self,
                 num_frames: int = 5,
                 scale: int = 4,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 **kwargs):
        self.num_frames = _check_pos_int('num_frames', num_frames)
        self.scale = _check_pos_int('scale', scale)
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=dict(data_prefix) if data_prefix is not None else dict(),
                         pipeline=self._build_pipeline(pipeline), test_mode=test_mode,
                         lazy_init=lazy_init, **kwargs)

    @staticmethod
    def _build_pipeline(pipeline) -> List[Callable]:
        if pipeline is None:
            return []
        if isinstance(pipeline, (dict, str)) or not isinstance(pipeline, Sequence):
            raise TypeError(f'pipeline must be a list of transforms or config dicts, got {type(pipeline).__name__}')
        built = []
        for i, t in enumerate(pipeline):
            if isinstance(t, dict):
                t = TRANSFORMS.build(copy.deepcopy(t))
            if not callable(t):
                raise TypeError(f'pipeline[{i}] must be a transform config dict or a callable, '
                                f'got {type(t).__name__}')
            built.append(t)
        return built

    @property
    def ref_index(self) -> int:
        """Index of the reference (centre) frame inside a clip: ``num_frames // 2``."""
        return self.num_frames // 2

    def get_data_info(self, idx: int) -> dict:
        """The data info of sample ``idx`` with ``scale`` and ``ref_index`` filled in when absent."""
        info = super().get_data_info(idx)
        info.setdefault('scale', self.scale)
        info.setdefault('ref_index', self.ref_index)
        return info
