"""Streaming video / frame-folder input and atomic output, shared by ``tools/predict.py`` and ``tools/interpolate.py``.

* :class:`FrameReader` iterates the frames of a video file (decoded by the ffmpeg binary of ``imageio-ffmpeg``,
  one frame at a time) or of a folder of images (natural sort order: ``f2.png`` < ``f10.png``), as RGB float32
  ``(H, W, 3)`` arrays in [0, 1]; it never holds more than one frame.
* :class:`FrameWriter` writes frames to a video file (H.264 / yuv420p, exact frame rate) or to a folder of PNGs.
  Everything goes to a hidden temporary path next to the destination, renamed onto it by :meth:`FrameWriter.close`;
  :meth:`FrameWriter.abort` (or leaving a ``with`` block by an exception) deletes it, so a failed run leaves no
  partial output.

Bad input raises :class:`~vidtoolbox.utils.errors.UserInputError` with a message naming the file and what was
expected: a missing or unreadable file, an empty folder, frames of different sizes, odd frame sizes for a video
output (4:2:0 chroma needs even sizes), an existing destination without ``overwrite``.
"""
import os
import os.path as osp
from typing import Iterator, Optional, Tuple

import numpy as np

from vidtoolbox.datasets.frames_folder import IMAGE_EXTENSIONS, list_frame_files
from vidtoolbox.utils.atomic import AtomicPath
from vidtoolbox.utils.errors import UserInputError

__all__ = ['VIDEO_EXTENSIONS', 'IMAGE_EXTENSIONS', 'is_video_path', 'FrameReader', 'FrameWriter', 'to_uint8']

#: file extensions written/read as videos (everything else given as an output is a folder of PNGs)
VIDEO_EXTENSIONS = ('.mp4', '.mkv', '.mov', '.avi', '.webm', '.m4v')


def is_video_path(path: str) -> bool:
    """True when ``path`` has one of :data:`VIDEO_EXTENSIONS` (case-insensitive)."""
    return osp.splitext(str(path))[1].lower() in VIDEO_EXTENSIONS


def to_uint8(frame: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float in [0, 1] → uint8 (clipped, rounded)."""
    return np.clip(np.rint(np.asarray(frame, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


class FrameReader:
    """Iterate the frames of a video file or a frame folder, one at a time.

    Args:
        path (str): a video file (any format ffmpeg reads) or a folder of images (:data:`IMAGE_EXTENSIONS`).
        fps (float, optional): frame rate to report for a folder (folders have none); ignored for videos unless
            the video reports none.

    Attributes:
        kind (str): ``'video'`` or ``'folder'``.
        fps (float | None): the source frame rate (``None`` for a folder without ``fps``).
        size (tuple): ``(H, W)`` of every frame.
        num_frames (int | None): number of frames when known beforehand (folders; videos whose header says).

    Iterating yields ``(H, W, 3)`` float32 RGB arrays in [0, 1]. A frame of another size than the first raises
    :class:`UserInputError` naming it.

    Raises:
        UserInputError: missing path, unreadable video, folder without images, unreadable first image.
    """

    def __init__(self, path: str, fps: Optional[float] = None):
        self.path = str(path)
        if fps is not None and not (isinstance(fps, (int, float)) and fps > 0):
            raise UserInputError(f'fps must be a positive number, got {fps!r}')
        if osp.isdir(self.path):
            names = list_frame_files(self.path)
            if not names:
                raise UserInputError(f'frame folder {self.path!r} holds no images {IMAGE_EXTENSIONS}')
            self.kind = 'folder'
            self.files = [osp.join(self.path, n) for n in names]
            self.num_frames = len(self.files)
            self.estimated_frames = self.num_frames
            self.fps = float(fps) if fps is not None else None
            self.size = self._read_image(self.files[0]).shape[:2]
        elif osp.isfile(self.path):
            self.kind = 'video'
            self.files = None
            meta = self._probe()
            w, h = meta['size']
            self.size = (int(h), int(w))
            vfps = meta.get('fps')
            self.fps = float(vfps) if vfps else (float(fps) if fps is not None else None)
            n = meta.get('nframes')
            self.num_frames = int(n) if isinstance(n, (int, float)) and np.isfinite(n) and n > 0 else None
            dur = meta.get('duration')
            #: frame count estimated from the header (duration x fps), for progress bars only
            self.estimated_frames = self.num_frames or (int(round(dur * self.fps)) if dur and self.fps else None)
        else:
            raise UserInputError(f'input {self.path!r} does not exist; expected a video file or a folder of frames')

    # ------------------------------------------------------------------ helpers
    def _probe(self) -> dict:
        import imageio_ffmpeg
        gen = imageio_ffmpeg.read_frames(self.path)
        try:
            meta = next(gen)
        except Exception as err:  # noqa: BLE001 - ffmpeg reports any decoding problem as a generic error
            detail = str(err).strip().splitlines()[-1] if str(err).strip() else ''
            raise UserInputError(f'cannot read video {self.path!r}: it is not a video ffmpeg can decode '
                                 f'({type(err).__name__}: {detail})') from err
        finally:
            gen.close()
        if not meta.get('size') or min(meta['size']) <= 0:
            raise UserInputError(f'cannot read video {self.path!r}: ffmpeg found no video stream')
        return meta

    @staticmethod
    def _read_image(path: str) -> np.ndarray:
        import cv2
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise UserInputError(f'cannot read image {path!r} (not an image file or corrupt)')
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        if img.shape[2] == 4:
            img = img[..., :3]
        scale = 65535.0 if img.dtype == np.uint16 else 255.0
        return np.ascontiguousarray(img[..., ::-1]).astype(np.float32) / np.float32(scale)

    def _check_size(self, frame: np.ndarray, where: str) -> np.ndarray:
        if frame.shape[:2] != tuple(self.size):
            raise UserInputError(f'frame {where} is {frame.shape[1]}x{frame.shape[0]} (WxH) but the first frame of '
                                 f'{self.path!r} is {self.size[1]}x{self.size[0]}; all frames must have one size')
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.kind == 'folder':
            for f in self.files:
                yield self._check_size(self._read_image(f), repr(f))
            return
        import imageio_ffmpeg
        gen = imageio_ffmpeg.read_frames(self.path, pix_fmt='rgb24')
        try:
            meta = next(gen)
            w, h = meta['size']
            for i, buf in enumerate(gen):
                arr = np.frombuffer(buf, dtype=np.uint8)
                if arr.size != h * w * 3:
                    raise UserInputError(f'video {self.path!r}: frame {i} has {arr.size} bytes, expected {h}x{w}x3')
                yield arr.reshape(h, w, 3).astype(np.float32) / np.float32(255.0)
        except UserInputError:
            raise
        except (RuntimeError, OSError) as err:
            raise UserInputError(f'error while decoding video {self.path!r}: {err}') from err
        finally:
            gen.close()


class FrameWriter:
    """Write frames to a video file or a folder of PNGs, atomically (temp path renamed on :meth:`close`).

    Args:
        path (str): destination; a name with a video extension (:data:`VIDEO_EXTENSIONS`) is a video, anything
            else a folder that will hold ``00000000.png``, ``00000001.png``, ...
        fps (float, optional): frame rate of a video output (required for videos).
        overwrite (bool): replace an existing destination (only once the new output is complete).
        quality (int): imageio-ffmpeg quality 0–10 of a video output (10 = best).

    Use as a context manager (``with FrameWriter(...) as w: w.write(frame)``): a normal exit closes (renames the
    temporary output onto ``path``), an exception aborts (deletes it).

    Raises:
        UserInputError: destination exists without ``overwrite``; no/invalid fps for a video; odd frame sizes for
            a video; frames of different sizes.
    """

    def __init__(self, path: str, fps: Optional[float] = None, overwrite: bool = False, quality: int = 8):
        self.path = osp.abspath(str(path))
        self.is_video = is_video_path(self.path)
        ext = osp.splitext(osp.basename(self.path))[1]
        if ext and not self.is_video:
            raise UserInputError(f'output {path!r}: {ext!r} is not a video container this writer produces '
                                 f'{VIDEO_EXTENSIONS}; give a video file name or a folder name without an extension '
                                 '(a folder of PNG frames)')
        if osp.exists(self.path) and not overwrite:
            raise UserInputError(f'output {path!r} already exists; choose another name or pass --overwrite')
        if self.is_video and (fps is None or not (isinstance(fps, (int, float)) and fps > 0)):
            raise UserInputError(f'a video output needs a positive frame rate, got fps={fps!r}; frame folders have no '
                                 'frame rate: pass --fps')
        self.fps = float(fps) if fps is not None else None
        self.quality = int(quality)
        self.count = 0
        self.size: Optional[Tuple[int, int]] = None
        self._gen = None
        self._closed = False
        self._out = AtomicPath(self.path, is_dir=not self.is_video)
        self.tmp_path = self._out.tmp

    def write(self, frame: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` RGB frame (float in [0, 1] or uint8)."""
        if self._closed:
            raise RuntimeError('FrameWriter: write() after close()/abort()')
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f'FrameWriter: frames must be (H, W, 3) RGB, got shape {frame.shape}')
        img = frame if frame.dtype == np.uint8 else to_uint8(frame)
        h, w = img.shape[:2]
        if self.size is None:
            if self.is_video and (h % 2 or w % 2):
                raise UserInputError(f'frames of {w}x{h} (WxH) cannot be written to the video {self.path!r}: H.264 '
                                     '4:2:0 needs even width and height; crop/resize the input to even sizes or write '
                                     'a folder of PNGs instead')
            self.size = (h, w)
            if self.is_video:
                import imageio_ffmpeg
                self._gen = imageio_ffmpeg.write_frames(self.tmp_path, (w, h), fps=self.fps, quality=self.quality,
                                                        macro_block_size=1, ffmpeg_log_level='error')
                self._gen.send(None)
        elif (h, w) != self.size:
            raise UserInputError(f'frame {self.count} is {w}x{h} (WxH) but the first frame written to {self.path!r} '
                                 f'is {self.size[1]}x{self.size[0]}')
        if self.is_video:
            self._gen.send(np.ascontiguousarray(img))
        else:
            import cv2
            name = osp.join(self.tmp_path, f'{self.count:08d}.png')
            if not cv2.imwrite(name, np.ascontiguousarray(img[..., ::-1])):
                raise OSError(f'FrameWriter: could not write {name!r}')
        self.count += 1

    def close(self) -> str:
        """Finish the output and move it onto ``path``; returns ``path``. Raises if no frame was written."""
        if self._closed:
            return self.path
        if self.count == 0:
            self.abort()
            raise UserInputError(f'no frame was written to {self.path!r}')
        if self._gen is not None:
            self._gen.close()
            self._gen = None
        self._out.commit()
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Delete the temporary output (the destination is left untouched)."""
        if self._closed:
            return
        self._closed = True
        if self._gen is not None:
            try:
                self._gen.close()
            except Exception:  # noqa: BLE001 - the output is discarded anyway
                pass
            self._gen = None
        self._out.abort()

    def __enter__(self) -> 'FrameWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    def __del__(self):  # a writer dropped without close(): do not leave the temp output behind
        try:
            if not self._closed:
                self.abort()
        except Exception:  # noqa: BLE001
            pass
