"""What every command-line tool shares: a one-line error instead of a traceback for bad input, and the few
summary lines a person reads (config, work dir, log file, results).

Tools stay thin: ``tools/X.py`` parses its arguments and calls :func:`run_tool` with a function that does the work
through :mod:`vidtoolbox.apis`.
"""
import os.path as osp
import sys
from typing import Callable, Optional

__all__ = ['run_tool', 'announce_run', 'format_metrics']


def run_tool(work: Callable[[], int], on_error: Optional[Callable[[], None]] = None) -> int:
    """Run ``work()`` and return its exit status; bad input and Ctrl-C end with one line on stderr.

    ``UserInputError`` (and ``FileNotFoundError``) print ``error: <message>`` and return 1; ``KeyboardInterrupt``
    prints ``interrupted`` and returns 130. ``on_error`` (e.g. removing a half-made work dir) runs first in both
    cases. Any other exception is a bug and keeps its traceback.
    """
    from vidtoolbox.utils.errors import UserInputError
    try:
        return work()
    except (UserInputError, FileNotFoundError) as err:
        if on_error is not None:
            on_error()
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f'error: {msg}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if on_error is not None:
            on_error()
        print('interrupted', file=sys.stderr)
        return 130


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
