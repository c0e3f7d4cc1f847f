"""Atomic outputs: write to a hidden temporary path next to the destination, rename it onto the destination when
complete, delete it on failure — so a failed or killed run never leaves a partial file or folder under the name the
user asked for. The one implementation every writer of the toolbox uses (videos and frame folders, JSON results,
pictures, checkpoints).

Files are flushed and fsynced before the rename (the rename is atomic on POSIX file systems), and get the
permissions an ordinary ``open(path, 'w')`` would give (``0o666`` / ``0o777`` for folders, minus the umask) rather
than the ``0o600`` of :func:`tempfile.mkstemp`.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Any, Callable

__all__ = ['AtomicPath', 'atomic_write', 'write_json', 'write_text', 'current_umask', 'PARTIAL_MARK']

#: part of every temporary name (``.<name>.partial-XXXX``)
PARTIAL_MARK = '.partial-'


def current_umask() -> int:
    """The process umask (read without changing it for more than an instant)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicPath:
    """A temporary file or folder that becomes ``path`` on :meth:`commit`.

    Args:
        path: the destination.
        is_dir: create a temporary folder (frame folders, picture sets) instead of a file.
        overwrite: replace an existing destination on commit (else commit refuses to replace it).

    Attributes:
        tmp: the temporary path to write to (same folder as ``path``, hidden, unique).

    Use as a context manager (commit on success, abort on any exception) or call :meth:`commit` / :meth:`abort`.
    """

    def __init__(self, path: str, is_dir: bool = False, overwrite: bool = True):
        self.path = osp.abspath(os.fspath(path))
        self.is_dir = bool(is_dir)
        self.overwrite = bool(overwrite)
        parent = osp.dirname(self.path)
        os.makedirs(parent, exist_ok=True)
        base = osp.basename(self.path)
        prefix = f'.{base}{PARTIAL_MARK}'
        if self.is_dir:
            self.tmp = tempfile.mkdtemp(prefix=prefix, dir=parent)
        else:
            fd, self.tmp = tempfile.mkstemp(prefix=prefix, suffix=osp.splitext(base)[1], dir=parent)
            os.close(fd)
        self.done = False

    def commit(self) -> str:
        """Fsync (files), fix the permissions, and rename the temporary path onto :attr:`path`; returns it."""
        if self.done:
            return self.path
        mask = current_umask()
        if self.is_dir:
            os.chmod(self.tmp, 0o777 & ~mask)
        else:
            with open(self.tmp, 'rb+') as f:
                os.fsync(f.fileno())
            os.chmod(self.tmp, 0o666 & ~mask)
        if osp.lexists(self.path):
            if not self.overwrite:
                self.abort()
                raise FileExistsError(f'{self.path} exists; refusing to replace it')
            if osp.isdir(self.path) and not osp.islink(self.path):
                shutil.rmtree(self.path)
            elif self.is_dir:
                os.remove(self.path)
        os.replace(self.tmp, self.path)  # a file replaces a file atomically
        self.done = True
        return self.path

    def abort(self) -> None:
        """Delete the temporary path (the destination is left untouched)."""
        if self.done:
            return
        self.done = True
        if osp.isdir(self.tmp) and not osp.islink(self.tmp):
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif osp.lexists(self.tmp):
            os.remove(self.tmp)

    def __enter__(self) -> 'AtomicPath':
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False

    def __del__(self):  # dropped without commit: do not leave the temporary path behind
        try:
            self.abort()
        except Exception:  # noqa: BLE001
            pass


def atomic_write(path: str, write: Callable[[str], Any], is_dir: bool = False) -> str:
    """``write(tmp_path)`` then commit onto ``path`` (abort on any exception); returns ``path``."""
    with AtomicPath(path, is_dir=is_dir) as ap:
        write(ap.tmp)
    return ap.path


def write_json(path: str, obj, indent: int = 2) -> str:
    """Write ``obj`` as JSON to ``path`` atomically (non-JSON numbers such as numpy scalars become floats)."""
    def _write(tmp):
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=indent, default=float)
    return atomic_write(path, _write)


def write_text(path: str, text: str) -> str:
    """Write ``text`` to ``path`` atomically."""
    def _write(tmp):
        with open(tmp, 'w') as f:
            f.write(text)
    return atomic_write(path, _write)
