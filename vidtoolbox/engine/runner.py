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

It also makes checkpoints safe to write and to read:

* **Atomic saves.** Every checkpoint is written to a hidden temporary file next to its destination, flushed,
  fsynced and renamed onto it (``vidtoolbox.utils.atomic``): a kill during a save never leaves a truncated
  ``iter_N.pth``. (The toolbox's ``CheckpointHook`` also removes old checkpoints only after the new one is complete.)
* **What a checkpoint is.** Its ``meta`` records ``model_type`` (the task head) and ``generator_type`` besides the
  config MMEngine stores, so a mismatch error can say what a file holds.
* **Strict, safe loading.** ``load_from`` / ``--load-from`` / ``tools/test.py CKPT`` / ``--resume`` load with
  ``weights_only=True`` passed explicitly (:func:`vidtoolbox.utils.weights.safe_torch_load`) and strictly: an
  architecture mismatch is a one-line error naming the checkpoint's model type and the first missing / unexpected
  keys. The config key ``load_partial=True`` (``tools/train.py --partial``) loads the matching tensors instead and
  prints the key counts.
* **Auto-resume picks the newest loadable checkpoint** (``--resume`` without a path): ``last_checkpoint`` when it
  points at a loadable file, else the newest loadable ``iter_*.pth`` / ``epoch_*.pth`` of the work dir; the console
  says which file it took and which it skipped.

Configs select it with ``runner_type = 'VidRunner'``; :func:`vidtoolbox.apis.runner.build_runner` does so by default.
"""
import glob
import logging
import os
import os.path as osp
import re

from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from vidtoolbox.registry import RUNNERS
from vidtoolbox.utils.atomic import PARTIAL_MARK
from vidtoolbox.utils.errors import UserInputError

__all__ = ['VidRunner', 'ConsoleFilter', 'CONSOLE_MODES', 'find_resumable_checkpoint']

#: values of the config key ``console``
CONSOLE_MODES = ('summary', 'full')
_PROGRESS = ('Iter(', 'Epoch(', 'Load checkpoint from', 'resumed epoch', 'Auto resumed from', 'Partial load')
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

    _timestamps_used: set = set()

    def setup_env(self, env_cfg):
        """MMEngine's set-up, with a run timestamp unique within this process.

        MMEngine names the run's log dir, logger and (global, name-keyed) visualizer after a timestamp with
        one-second resolution; a second runner started in the same second would reuse the first one's
        visualizer, whose folder may be gone (a failed run's work dir is discarded). A suffix keeps them apart.
        """
        super().setup_env(env_cfg)
        base, n = self._timestamp, 1
        while self._timestamp in VidRunner._timestamps_used:
            n += 1
            self._timestamp = f'{base}_{n}'
        VidRunner._timestamps_used.add(self._timestamp)

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

    # -- checkpoints ---------------------------------------------------------------------------------------
    def _unwrapped(self):
        return self.model.module if is_model_wrapper(self.model) else self.model

    def save_checkpoint(self, out_dir, filename, file_client_args=None, save_optimizer=True,
                        save_param_scheduler=True, meta=None, by_epoch=True, backend_args=None):
        """MMEngine's checkpoint, written atomically (temporary file, fsync, rename) with the model type in its meta."""
        model = self._unwrapped()
        meta = dict(meta or {})
        meta.setdefault('model_type', type(model).__name__)
        gen = getattr(model, 'generator', None)
        if gen is not None:
            meta.setdefault('generator_type', type(gen).__name__)
        if not is_main_process():
            return super().save_checkpoint(out_dir, filename, file_client_args, save_optimizer, save_param_scheduler,
                                           meta, by_epoch, backend_args)
        final = osp.join(out_dir, filename)
        tmp_name = f'.{filename}{PARTIAL_MARK}{os.getpid()}'
        tmp = osp.join(out_dir, tmp_name)
        try:
            super().save_checkpoint(out_dir, tmp_name, file_client_args, save_optimizer, save_param_scheduler, meta,
                                    by_epoch, backend_args)
            with open(tmp, 'rb+') as f:
                os.fsync(f.fileno())
            os.replace(tmp, final)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)

    def load_checkpoint(self, filename, map_location='cpu', strict=None, revise_keys=None):
        """Load ``filename`` safely (``weights_only=True``) into the model, strictly unless the config says
        ``load_partial=True``; returns the whole checkpoint (``resume`` reads its optimizer, meta, ...)."""
        from vidtoolbox.utils.weights import describe_checkpoint, load_weights_into, safe_torch_load, state_dict_from
        checkpoint = safe_torch_load(filename)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        partial = bool(self.cfg.get('load_partial', False)) if strict is None else not strict
        sd = state_dict_from(checkpoint, source=f'checkpoint {filename!r}')
        report = load_weights_into(self._unwrapped(), sd, strict=not partial, source=f'checkpoint {filename!r}',
                                   description=describe_checkpoint(checkpoint))
        if partial:
            self.logger.info(f'Partial load of {filename}: {len(report["loaded"])} tensors loaded, '
                             f'{len(report["missing"])} of the model missing from the checkpoint, '
                             f'{len(report["unexpected"])} unexpected, {len(report["mismatched"])} of another shape')
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def load_or_resume(self) -> None:
        """MMEngine's load/resume, except that ``resume`` without a file takes the newest *loadable* checkpoint."""
        if self._has_loaded:
            return None
        if self._resume and self._load_from is None:
            path, skipped = find_resumable_checkpoint(self.work_dir)
            for bad, why in skipped:
                self.logger.warning(f'not resuming from {bad}: {why}')
            if path is None:
                self.logger.warning(f'resume: no loadable checkpoint in {self.work_dir}; training starts from '
                                    'iteration 0')
                return None
            self.logger.info(f'Auto resumed from the newest loadable checkpoint {path}')
            self._load_from = path
        return super().load_or_resume()


_CKPT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def find_resumable_checkpoint(work_dir: str):
    """``(path or None, [(skipped path, why), ...])``: the checkpoint ``--resume`` takes in ``work_dir``.

    ``last_checkpoint``'s target comes first when it exists and loads; otherwise the ``iter_N.pth`` /
    ``epoch_N.pth`` files of the work dir are tried from the highest N down. A candidate counts as loadable when
    a weights-only load reads it and it holds ``state_dict`` and ``meta``.
    """
    from vidtoolbox.utils.weights import safe_torch_load
    candidates, skipped = [], []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            target = f.read().strip()
        if target:
            candidates.append(target)
        else:
            skipped.append((pointer, 'it is empty'))
    numbered = []
    for p in glob.glob(osp.join(work_dir, '*.pth')):
        m = _CKPT_NAME.match(osp.basename(p))
        if m:
            numbered.append((int(m.group(2)), p))
    candidates += [p for _, p in sorted(numbered, reverse=True) if p not in candidates]
    for path in candidates:
        if not osp.isfile(path):
            skipped.append((path, 'the file does not exist'))
            continue
        try:
            ckpt = safe_torch_load(path)
        except UserInputError as err:
            skipped.append((path, str(err)))
            continue
        if not (isinstance(ckpt, dict) and 'state_dict' in ckpt and 'meta' in ckpt):
            skipped.append((path, 'it is not a training checkpoint (no state_dict / meta)'))
            continue
        return path, skipped
    return None, skipped
