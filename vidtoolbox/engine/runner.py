"""``VidRunner``: MMEngine's ``Runner`` with a console a person can read.

MMEngine prints everything it logs to the terminal: the environment dump, the whole config, the hook table,
deprecation notices, then the progress lines. ``VidRunner`` keeps all of it in the log file
(``<work_dir>/<timestamp>/<timestamp>.log``) and shows on the terminal only

* the progress lines of the ``LoggerHook`` (``Iter(train) [ 50/400] ... loss: ...``, ``Iter(val) ...``, the final
  metrics line),
* warnings and errors, except MMEngine's own deprecation notices,
* where weights came from (``Load checkpoint from ...``, ``resumed epoch: ..., iter: ...``),
* records a caller marks with ``extra={'console': True}``.

Python ``warnings`` (library deprecation warnings) are routed to the log file too. The config key
``console='full'`` (what ``tools/train.py --verbose`` sets) restores MMEngine's console unchanged.

Configs select it with ``runner_type = 'VidRunner'``; :func:`vidtoolbox.apis.runner.build_runner` does so by default.
"""
import logging

from mmengine.runner import Runner

from vidtoolbox.registry import RUNNERS

__all__ = ['VidRunner', 'ConsoleFilter', 'CONSOLE_MODES']

#: values of the config key ``console``
CONSOLE_MODES = ('summary', 'full')
_PROGRESS = ('Iter(', 'Epoch(', 'Load checkpoint from', 'resumed epoch', 'Auto resumed from')
_NOISE = ('deprecated', )


class ConsoleFilter(logging.Filter):
    """Pass progress lines, warnings/errors that are not deprecation notices, and records marked ``console``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, 'console', False) or record.levelno >= logging.ERROR:
            return True
        msg = record.getMessage()
        if record.levelno >= logging.WARNING:
            return not any(n in msg for n in _NOISE)
        return msg.startswith(_PROGRESS)


def _is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)


@RUNNERS.register_module()
class VidRunner(Runner):
    """MMEngine ``Runner`` whose terminal output is the summary described in the module docstring."""

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        logger = super().build_logger(log_level=log_level, log_file=log_file, **kwargs)
        mode = self.cfg.get('console', 'summary') if self.cfg is not None else 'summary'
        if mode not in CONSOLE_MODES:
            raise ValueError(f'console must be one of {CONSOLE_MODES}, got {mode!r}')
        if mode == 'summary':
            for h in logger.handlers:
                if _is_console(h) and not any(isinstance(f, ConsoleFilter) for f in h.filters):
                    h.addFilter(ConsoleFilter())
            # library warnings (warnings.warn) go to the log file, not the terminal
            logging.captureWarnings(True)
            py_warnings = logging.getLogger('py.warnings')
            py_warnings.propagate = False
            for h in list(py_warnings.handlers):  # handlers of earlier runners in this process
                py_warnings.removeHandler(h)
            for h in logger.handlers:
                if not _is_console(h):
                    py_warnings.addHandler(h)
        return logger
