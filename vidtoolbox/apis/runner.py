"""Build an MMEngine Runner from a config path the way ``tools/train.py``, ``tools/test.py`` and ``tools/demo.py`` do.

Handles the MMEngine quirks of this project's environment:

* CPU distributed training: MMEngine's launcher calls ``torch.cuda.set_device`` and wraps the model with
  ``device_ids=[LOCAL_RANK]``. Without CUDA we initialise a gloo process group ourselves (MMEngine then skips
  its own init) and give the DDP wrapper ``device_ids=None``. ``launcher='slurm'`` reads the rank, world size and
  master address from the variables SLURM sets (``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``,
  ``SLURM_NODELIST``) the way MMEngine's slurm launcher does.
* ``weights_only`` checkpoint loading: see :mod:`vidtoolbox.utils.compat` (done on ``import vidtoolbox``).
* The console: the runner is :class:`vidtoolbox.engine.VidRunner` (the summary console) unless the config names
  another ``runner_type``; ``verbose=True`` restores MMEngine's full console output.
"""
import os
import subprocess
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for tools)

import vidtoolbox  # noqa: F401  (registers safe globals for weights_only loading)
from vidtoolbox.utils.errors import UserInputError
from .loading import load_config

__all__ = ['build_runner', 'setup_distributed', 'slurm_environment', 'release_distributed', 'LAUNCHERS']

#: the ``--launcher`` choices of the tools
LAUNCHERS = ('none', 'pytorch', 'slurm')
_TORCHRUN_VARS = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')


def slurm_environment(environ=None, port: int = 29500) -> dict:
    """The torch.distributed variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
    ``MASTER_PORT``) of a task started by ``srun``, from the variables SLURM sets.

    ``MASTER_ADDR`` is kept when set, else the first host of ``SLURM_NODELIST`` (``scontrol show hostnames``;
    a plain single host name is used as is); ``MASTER_PORT`` is kept when set, else ``port``.

    Raises:
        UserInputError: a SLURM variable is missing (the job was not started by ``srun``).
    """
    env = dict(os.environ if environ is None else environ)
    missing = [v for v in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST') if v not in env]
    if missing:
        raise UserInputError(f'--launcher slurm needs the variables SLURM sets for each task ({", ".join(missing)} '
                             'missing): start the job with srun (tools/slurm_train.sh PARTITION JOB CONFIG GPUS)')
    ntasks = int(env['SLURM_NTASKS'])
    ntasks_node = int(env.get('SLURM_NTASKS_PER_NODE', '0').split('(')[0] or 0) or None
    local = env.get('SLURM_LOCALID')
    if local is None:
        local = str(int(env['SLURM_PROCID']) % ntasks_node) if ntasks_node else '0'
    addr = env.get('MASTER_ADDR')
    if not addr:
        nodes = env['SLURM_NODELIST']
        if any(c in nodes for c in '[,'):
            try:
                out = subprocess.run(['scontrol', 'show', 'hostnames', nodes], capture_output=True, text=True,
                                     check=True, timeout=30).stdout.split()
            except (OSError, subprocess.SubprocessError) as err:
                raise UserInputError(f'--launcher slurm: cannot expand SLURM_NODELIST={nodes!r} with scontrol '
                                     f'({err}); set MASTER_ADDR to the first node') from err
            addr = out[0]
        else:
            addr = nodes
    return dict(RANK=env['SLURM_PROCID'], WORLD_SIZE=str(ntasks), LOCAL_RANK=str(local), MASTER_ADDR=addr,
                MASTER_PORT=env.get('MASTER_PORT') or str(port))


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` (and, on CPU, the gloo process group) for ``launcher`` (one of :data:`LAUNCHERS`)."""
    if launcher not in LAUNCHERS:
        raise UserInputError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none':
        cfg.launcher = 'none'
        return
    if launcher == 'slurm':
        os.environ.update(slurm_environment())
        launcher = 'pytorch'  # from here on a torchrun-like environment; MMEngine's pytorch init reads it
    missing = [v for v in _TORCHRUN_VARS if v not in os.environ]
    if missing:
        raise UserInputError(f'--launcher pytorch needs the environment variables {", ".join(missing)}; start '
                             'the job with torchrun (tools/dist_train.sh CONFIG NPROC)')
    cfg.launcher = launcher
    if torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'nccl'
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    cfg.model_wrapper_cfg = wrapper
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo', init_method='env://')


def release_distributed() -> None:
    """End the process group cleanly (all ranks meet at a barrier first): without it, gloo's threads may still run
    at interpreter exit and abort the process (``terminate called without an active exception``)."""
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def build_runner(config: str, work_dir: Optional[str] = None, resume=None, amp: bool = False,
                 cfg_options: Optional[dict] = None, launcher: str = 'none', load_from: Optional[str] = None,
                 verbose: bool = False, partial: bool = False):
    """Return an MMEngine ``Runner`` for ``config``.

    Args:
        resume: ``None`` (no resume), ``'auto'`` (latest checkpoint in the work dir) or a checkpoint path.
        amp: mixed precision: MMEngine's ``AmpOptimWrapper`` (float16, loss scaling) on a GPU,
            :class:`vidtoolbox.engine.CPUAutocastOptimWrapper` (bfloat16 autocast) on the CPU.
        load_from: weights to start from (no optimizer state); loaded strictly unless ``partial``.
        partial: allow a partial ``load_from`` (the tensors that match are loaded; the counts are printed).
        verbose: MMEngine's full console output (environment, config, hook table, deprecation notices); by
            default they go to the log file only and the console shows progress, warnings and results.
    """
    from mmengine.registry import DefaultScope

    from vidtoolbox.engine.runner import VidRunner
    from vidtoolbox.registry import RUNNERS

    cfg = load_config(config, cfg_options, work_dir)
    if resume is not None:
        if resume != 'auto' and not os.path.isfile(resume):
            raise UserInputError(f'--resume checkpoint not found: {resume}')
        cfg.resume = True
        cfg.load_from = None if resume == 'auto' else resume
    if load_from is not None:
        if not os.path.isfile(load_from):
            raise UserInputError(f'checkpoint not found: {load_from}')
        cfg.load_from = load_from
    if partial:
        cfg.load_partial = True
    if amp:
        optim = cfg.get('optim_wrapper')
        if optim is None:
            raise UserInputError(f'--amp needs an optim_wrapper in the config {config!r}')
        if torch.cuda.is_available():
            optim.type = 'AmpOptimWrapper'  # float16 autocast with dynamic loss scaling
            optim.setdefault('loss_scale', 'dynamic')
        else:
            optim.type = 'CPUAutocastOptimWrapper'  # MMEngine's AmpOptimWrapper needs a GPU
            optim.setdefault('dtype', 'bfloat16')
    cfg.console = 'full' if verbose else cfg.get('console', 'summary')
    setup_distributed(cfg, launcher)
    if 'runner_type' not in cfg:
        return VidRunner.from_cfg(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return RUNNERS.build(cfg)
