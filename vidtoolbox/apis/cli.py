"""What every command-line tool shares: a one-line error instead of a traceback for bad input, and the few
summary lines a person reads (config, work dir, log file, results).

Tools stay thin: ``tools/X.py`` parses its arguments and calls :func:`run_tool` with a function that does the work
through :mod:`vidtoolbox.apis`.
"""
import glob
import os
import os.path as osp
import shutil
import signal
import sys
from typing import Callable, Optional

__all__ = ['run_tool', 'announce_run', 'format_metrics', 'Terminated', 'NewWorkDir']


class Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM (so ``with`` blocks clean up as for Ctrl-C)."""


def _on_sigterm(signum, frame):
    raise Terminated()


class NewWorkDir:
    """Remembers whether a work dir existed before this run; :meth:`discard` removes it after a failed run when this
    run created it and it holds no checkpoint (so a mistake leaves nothing behind, and no finished work is lost)."""

    def __init__(self):
        self.path = None
        self.existed = True

    def set(self, path: str) -> None:
        self.path = osp.abspath(path)
        self.existed = osp.exists(self.path)

    def discard(self) -> None:
        if self.path is None or self.existed or not osp.isdir(self.path):
            return
        if glob.glob(osp.join(self.path, '**', '*.pth'), recursive=True):
            return
        shutil.rmtree(self.path, ignore_errors=True)


def user_error_message(err: BaseException) -> Optional[str]:
    """The one-line message of an exception that is the user's mistake (bad input, a config naming something that
    does not exist, a misspelled argument), or ``None`` for anything else (a bug: keep the traceback)."""
    from vidtoolbox.utils.errors import UserInputError
    text = str(err).strip()
    if text.startswith('Caught ') and 'Original Traceback' in text:  # raised in a DataLoader worker
        text = text.splitlines()[-1].split(': ', 1)[-1]
    if isinstance(err, (UserInputError, FileNotFoundError)):
        return text.splitlines()[0] if text else type(err).__name__
    from .config_errors import explain_build_error
    return explain_build_error(err)


def run_tool(work: Callable[[], int], on_error: Optional[Callable[[], None]] = None) -> int:
    """Run ``work()`` and return its exit status; bad input, Ctrl-C and SIGTERM end with one line on stderr.

    A user's mistake (``UserInputError``, ``FileNotFoundError``, a config naming an unknown type or a misspelled
    argument, see :func:`user_error_message`) prints ``error: <message>`` and returns 1; ``KeyboardInterrupt``
    prints ``interrupted`` and returns 130; SIGTERM prints ``terminated`` and returns 143. ``on_error`` (e.g.
    :meth:`NewWorkDir.discard`) runs first in these cases; temporary outputs are removed by the ``with`` blocks that
    made them. Any other exception is a bug and keeps its traceback.
    """
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
    try:
        return work()
    except (KeyboardInterrupt, Terminated) as err:
        if on_error is not None:
            on_error()
        _close_progress_bars()
        interrupted = isinstance(err, KeyboardInterrupt)
        print('interrupted' if interrupted else 'terminated', file=sys.stderr)
        return 130 if interrupted else 143
    except Exception as err:  # noqa: BLE001 - user mistakes become one line; bugs are re-raised
        msg = user_error_message(err)
        if msg is None:
            raise
        if on_error is not None:
            on_error()
        _close_progress_bars()
        print(f'error: {msg}', file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _close_progress_bars() -> None:
    """End any open tqdm bar's line, so the error message starts on a line of its own."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return
    for bar in list(getattr(tqdm, '_instances', [])):
        bar.close()


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


def announce_run(runner, config: str, what: str = 'training') -> None:
    """Print the config, the work dir and the log file of ``runner`` (rank 0 only)."""
    from mmengine.dist import is_main_process
    if not is_main_process():
        return
    log = osp.join(runner.log_dir, f'{runner.timestamp}.log')
    print(f'{what}: {config}\nwork dir: {osp.abspath(runner.work_dir)}\nfull log: {osp.abspath(log)}', flush=True)


def format_metrics(metrics: dict) -> str:
    """A two-column text table of ``metrics``."""
    if not metrics:
        return '(no metrics)'
    w = max(len(str(k)) for k in metrics)
    lines = [f'{"metric":<{w}}  value', f'{"-" * w}  ----------']
    for k, v in metrics.items():
        lines.append(f'{k:<{w}}  {v:.4f}' if isinstance(v, float) else f'{k:<{w}}  {v}')
    return '\n'.join(lines)
