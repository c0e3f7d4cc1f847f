"""Vimeo-90K septuplets (super-resolution, interpolation) and triplets (interpolation)."""
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

from vidtoolbox.registry import DATASETS

from .base import BaseVideoDataset
from .frames_folder import verify_frame_sample

__all__ = ['Vimeo90KSeptupletDataset', 'Vimeo90KTripletDataset']

_SEP_HINT = (
    'The Vimeo-90K septuplet layout is <data_root>/sequences/<00001>/<0001>/im1.png ... im7.png (GT, 448x256) with '
    'the lists <data_root>/sep_trainlist.txt and sep_testlist.txt (one "00001/0001" per line); for super-resolution '
    'the LR frames (bicubic x4, 112x64) mirror it under lq_folder: <data_root>/<lq_folder>/<00001>/<0001>/im1.png. '
    'Download vimeo_septuplet.zip from http://toflow.csail.mit.edu/ and unzip it as data_root; the LR frames are '
    'made from the GT with MATLAB-style bicubic downsampling (e.g. vidtoolbox.ops.imresize).')
_TRI_HINT = (
    'The Vimeo-90K triplet layout is <data_root>/sequences/<00001>/<0001>/im1.png ... im3.png (448x256) with the '
    'lists <data_root>/tri_trainlist.txt and tri_testlist.txt (one "00001/0001" per line). Download '
    'vimeo_triplet.zip from http://toflow.csail.mit.edu/ and unzip it as data_root.')


def _read_list(path: str, dataset: str, hint: str) -> List[str]:
    """Sequence keys ``'<a>/<b>'`` of a Vimeo list file (blank lines skipped)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{dataset}: list file {path!r} does not exist. ' + hint)
    keys = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split('/')
            if len(parts) != 2 or not all(parts):
                raise ValueError(f'{dataset}: line {lineno} of {path!r} is {line!r}; expected "<folder>/<sequence>" '
                                 'such as "00001/0001"')
            keys.append(line)
    if not keys:
        raise ValueError(f'{dataset}: list file {path!r} is empty. ' + hint)
    return keys


class _Vimeo90KBase(BaseVideoDataset):
    """Shared list/folder handling of the Vimeo-90K datasets (not registered)."""

    HINT = ''
    LIST_NAMES = {}
    SEQ_LEN = 0

    def __init__(self, data_root: str, split: str, ann_file: Optional[str], gt_folder: str, num_frames: int,
                 scale: int, check_sizes: bool, pipeline, **kwargs):
        if split not in self.LIST_NAMES:
            raise ValueError(f'{type(self).__name__}: split must be one of {list(self.LIST_NAMES)}, got {split!r}')
        self.split = split
        self.gt_folder = gt_folder
        self.check_sizes = check_sizes
        if not data_root or not osp.isdir(data_root):
            raise FileNotFoundError(f'{type(self).__name__}: data_root {data_root!r} does not exist. ' + self.HINT)
        super().__init__(num_frames=num_frames, scale=scale, data_root=data_root,
                         ann_file=self.LIST_NAMES[split] if ann_file is None else ann_file, pipeline=pipeline,
                         **kwargs)

    def _sequence_keys(self) -> List[str]:
        name = type(self).__name__
        gt_root = osp.join(self.data_root, self.gt_folder)
        if not osp.isdir(gt_root):
            raise FileNotFoundError(f'{name}: gt_folder {gt_root!r} does not exist. ' + self.HINT)
        keys = _read_list(self.ann_file, name, self.HINT)
        first = osp.join(gt_root, keys[0])
        if not osp.isdir(first):
            raise FileNotFoundError(f'{name}: sequence folder {first!r} (first line of {self.ann_file!r}) does not '
                                    'exist. ' + self.HINT)
        return keys

    def _im(self, root: str, key: str, i: int) -> str:
        if not 1 <= i <= self.SEQ_LEN:
            raise ValueError(f'frame im{i} outside im1..im{self.SEQ_LEN}')
        return osp.join(self.data_root, root, key, f'im{i}.png')

    def get_data_info(self, idx: int) -> dict:
        """Entry ``idx`` after checking its frames exist (and their sizes, with ``check_sizes``)."""
        info = super().get_data_info(idx)
        verify_frame_sample(info['lq_paths'], info['gt_paths'], info['scale'], self.check_sizes,
                            type(self).__name__)
        return info


@DATASETS.register_module()
class Vimeo90KSeptupletDataset(_Vimeo90KBase):
    """Vimeo-90K septuplets (``im1..im7``): ×4 super-resolution or interpolation of the middle frame ``im4``.

    Layout (``gt_folder`` / ``lq_folder`` relative to ``data_root``)::

        data_root/sequences/<a>/<b>/im1.png ... im7.png     # GT (448x256)
        data_root/<lq_folder>/<a>/<b>/im1.png ... im7.png   # bicubic x4 LR (112x64), mode 'sr'
        data_root/sep_trainlist.txt, sep_testlist.txt      # lines '00001/0001' (7824 test sequences)

    Modes:

    - ``'sr'``: ``lq`` = the ``num_frames`` (odd, <= 7) LR frames centred on ``im4`` (7 → im1..im7, 5 → im2..im6,
      3 → im3..im5), ``gt`` = [GT ``im4``], ``ref_index = num_frames // 2``, ``scale`` (4).
    - ``'interpolation'``: ``lq`` = ``num_frames`` (even, 2/4/6) GT context frames around ``im4``
      (2 → im3, im5; 4 → im2, im3, im5, im6; 6 → im1..3, im5..7), ``gt`` = [``im4``], scale 1,
      ``ref_index = num_frames // 2 - 1`` (the target lies between ``lq[ref_index]`` and ``lq[ref_index + 1]``).

    Entries: ``lq_paths``, ``gt_paths``, ``key`` (``'00001/0001'``), ``ref_index``, ``scale``, ``num_frames``.

    Args:
        data_root (str): the ``vimeo_septuplet`` folder.
        split (str): ``'train'`` (``sep_trainlist.txt``) or ``'test'`` (``sep_testlist.txt``).
        lq_folder (str, optional): LR sequences folder; required in mode ``'sr'``.
        gt_folder (str): GT sequences folder (``'sequences'``).
        ann_file (str, optional): list file overriding the split's default (relative to ``data_root``).
        mode (str): ``'sr'`` or ``'interpolation'``.
        num_frames (int): input frames (see Modes); default 7 in ``'sr'``, 2 in ``'interpolation'``.
        scale (int, optional): GT/LR ratio; default 4 in ``'sr'``; must be 1 (or None) in ``'interpolation'``.
        check_sizes (bool): on every fetch, read the image headers and check LR × scale == GT.
        **kwargs: passed to :class:`BaseVideoDataset` (``pipeline``, ``test_mode``, ``lazy_init``, ...).

    Raises:
        FileNotFoundError: missing root, folder, list file or frame (the message gives the layout).
        ValueError: bad arguments, malformed list line, LR/GT size mismatch (at fetch).
    """

    HINT = _SEP_HINT
    LIST_NAMES = {'train': 'sep_trainlist.txt', 'test': 'sep_testlist.txt'}
    SEQ_LEN = 7

    def __init__(self, data_root: str, split: str = 'train', lq_folder: Optional[str] = None,
                 gt_folder: str = 'sequences', ann_file: Optional[str] = None, mode: str = 'sr',
                 num_frames: Optional[int] = None, scale: Optional[int] = None, check_sizes: bool = True,
                 pipeline: Sequence[Union[dict, Callable]] = (), **kwargs):
        name = type(self).__name__
        if mode not in ('sr', 'interpolation'):
            raise ValueError(f"{name}: mode must be 'sr' or 'interpolation', got {mode!r}")
        if mode == 'sr':
            num_frames = 7 if num_frames is None else num_frames
            scale = 4 if scale is None else scale
            if num_frames not in (1, 3, 5, 7):
                raise ValueError(f'{name}: in mode "sr" num_frames must be 1, 3, 5 or 7 (odd, centred on im4), '
                                 f'got {num_frames!r}')
            if lq_folder is None:
                raise ValueError(f'{name}: mode "sr" needs lq_folder, the folder of LR frames laid out like '
                                 f'{gt_folder!r}. ' + _SEP_HINT)
        else:
            num_frames = 2 if num_frames is None else num_frames
            if scale not in (None, 1):
                raise ValueError(f'{name}: mode "interpolation" works at full resolution (scale 1), got scale={scale}')
            scale = 1
            if num_frames not in (2, 4, 6):
                raise ValueError(f'{name}: in mode "interpolation" num_frames (context frames around im4) must be 2, '
                                 f'4 or 6, got {num_frames!r}')
        self.mode = mode
        self.lq_folder = lq_folder
        super().__init__(data_root, split, ann_file, gt_folder, num_frames, scale, check_sizes, pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One entry per listed sequence."""
        keys = self._sequence_keys()
        t = self.num_frames
        if self.mode == 'sr':
            lq_root = osp.join(self.data_root, self.lq_folder)
            if not osp.isdir(lq_root):
                raise FileNotFoundError(f'{type(self).__name__}: lq_folder {lq_root!r} does not exist. ' + _SEP_HINT)
            frames, ref, lq_dir = list(range(4 - t // 2, 4 + t // 2 + 1)), t // 2, self.lq_folder
        else:
            half = t // 2
            frames, ref, lq_dir = list(range(4 - half, 4)) + list(range(5, 5 + half)), half - 1, self.gt_folder
        return [dict(lq_paths=[self._im(lq_dir, k, i) for i in frames], gt_paths=[self._im(self.gt_folder, k, 4)],
                     key=k, ref_index=ref, scale=self.scale, num_frames=t) for k in keys]


@DATASETS.register_module()
class Vimeo90KTripletDataset(_Vimeo90KBase):
    """Vimeo-90K triplets (``im1..im3``) for frame interpolation: ``lq`` = [im1, im3], ``gt`` = [im2].

    Layout::

        data_root/sequences/<a>/<b>/im1.png im2.png im3.png   # 448x256
        data_root/tri_trainlist.txt, tri_testlist.txt         # lines '00001/0001'

    Entries: ``lq_paths`` (2 paths), ``gt_paths`` (1 path), ``key`` (``'00001/0001'``), ``ref_index = 0`` (the
    target lies between ``lq[0]`` and ``lq[1]``), ``scale = 1``, ``num_frames = 2``. No LR frames.

    Args:
        data_root (str): the ``vimeo_triplet`` folder.
        split (str): ``'train'`` (``tri_trainlist.txt``) or ``'test'`` (``tri_testlist.txt``).
        gt_folder (str): sequences folder (``'sequences'``).
        ann_file (str, optional): list file overriding the split's default (relative to ``data_root``).
        check_sizes (bool): on every fetch, read the image headers and check the three frames agree in size.
        **kwargs: passed to :class:`BaseVideoDataset` (``pipeline``, ``test_mode``, ``lazy_init``, ...).
    """

    HINT = _TRI_HINT
    LIST_NAMES = {'train': 'tri_trainlist.txt', 'test': 'tri_testlist.txt'}
    SEQ_LEN = 3

    def __init__(self, data_root: str, split: str = 'train', gt_folder: str = 'sequences',
                 ann_file: Optional[str] = None, check_sizes: bool = True,
                 pipeline: Sequence[Union[dict, Callable]] = (), **kwargs):
        super().__init__(data_root, split, ann_file, gt_folder, 2, 1, check_sizes, pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One entry per listed triplet."""
        g = self.gt_folder
        return [dict(lq_paths=[self._im(g, k, 1), self._im(g, k, 3)], gt_paths=[self._im(g, k, 2)], key=k,
                     ref_index=0, scale=1, num_frames=2) for k in self._sequence_keys()]
