"""Loading frames from image files (for the real datasets: REDS, Vimeo-90K, frames folders)."""
from typing import Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.fileio import get

from vidtoolbox.registry import TRANSFORMS
from vidtoolbox.utils.errors import DatasetNotFoundError, UserInputError

__all__ = ['LoadFramesFromFiles']


@TRANSFORMS.register_module()
class LoadFramesFromFiles(BaseTransform):
    """Read the image files listed under ``<key>_paths`` into ``<key>`` as RGB float32 in [0, 1].

    For each ``key`` in ``keys`` (default ``('lq', 'gt')``): ``results[key + '_paths']`` is a list of
    file paths (or a single path); ``results[key]`` becomes a list of ``(H, W, 3)`` float32 arrays in
    [0, 1], RGB order (files are decoded with ``mmcv.imfrombytes`` as BGR and converted; grey files are
    expanded to 3 channels; 8-bit files are divided by 255, 16-bit files by 65535).

    Args:
        keys: result keys to load.
        required: if True a missing ``<key>_paths`` is an error; if False that key is skipped (e.g. test
            clips without ground truth).
        backend_args: MMEngine file backend arguments (``mmengine.fileio.get``), None for local files.

    Raises:
        KeyError: a required ``<key>_paths`` entry is missing.
        DatasetNotFoundError: (a ``FileNotFoundError``) a listed file does not exist (the message names the path
            and the key).
        UserInputError: (a ``ValueError``) a file could not be decoded as an image (truncated, damaged, not an
            image) — raised when the sample is read, so a training run stops at the first bad frame with its path
            (the tools print that one line, also when the frame was read in a DataLoader worker).
    """

    def __init__(self, keys: Sequence[str] = ('lq', 'gt'), required: bool = True,
                 backend_args: Optional[dict] = None):
        if isinstance(keys, str):
            keys = (keys,)
        if not keys or not all(isinstance(k, str) for k in keys):
            raise TypeError(f'LoadFramesFromFiles: keys must be a non-empty sequence of str, got {keys!r}')
        self.keys = tuple(keys)
        self.required = bool(required)
        self.backend_args = backend_args

    def _read(self, path, key: str) -> np.ndarray:
        try:
            data = get(path, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise DatasetNotFoundError(f'LoadFramesFromFiles: {key} frame file not found: {path}') from e
        try:
            img = mmcv.imfrombytes(data, flag='unchanged', channel_order='bgr')
        except Exception as err:  # noqa: BLE001 - decoder errors of damaged files
            raise UserInputError(f'LoadFramesFromFiles: could not decode {key} frame file {path} as an image '
                                 f'({type(err).__name__}); the file is damaged or not an image') from err
        if img is None:
            raise UserInputError(f'LoadFramesFromFiles: could not decode {key} frame file {path} as an image; the '
                                 'file is damaged (e.g. truncated) or not an image')
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        elif img.shape[2] == 4:
            img = img[..., :3]
        elif img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        if img.dtype == np.uint8:
            norm = 255.0
        elif img.dtype == np.uint16:
            norm = 65535.0
        elif np.issubdtype(img.dtype, np.floating):
            norm = 1.0
        else:
            raise UserInputError(f'LoadFramesFromFiles: unsupported pixel type {img.dtype} in {path}; expected 8- or '
                                 '16-bit images')
        img = img[..., ::-1].astype(np.float32) / np.float32(norm)  # BGR → RGB
        return np.ascontiguousarray(img)

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            pkey = f'{key}_paths'
            if pkey not in results:
                if self.required:
                    raise KeyError(f'LoadFramesFromFiles: results has no {pkey!r} (needed to load {key!r}); '
                                   f'keys present: {sorted(results)}')
                continue
            paths = results[pkey]
            if isinstance(paths, (str, bytes)) or not isinstance(paths, Sequence):
                paths = [paths]
            results[key] = [self._read(p, key) for p in paths]
            results[f'ori_{key}_shape'] = results[key][0].shape if results[key] else None
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys}, required={self.required})'
