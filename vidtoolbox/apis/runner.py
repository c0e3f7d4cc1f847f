"""Build an MMEngine Runner from a config path the way ``tools/train.py`` and ``tools/test.py`` do.

Handles the two MMEngine quirks of REFERENCE §5:
* CPU distributed training: MMEngine's launcher calls ``torch.cuda.set_device`` and wraps the model with
  ``device_ids=[LOCAL_RANK]``. Without CUDA we initialise a gloo process group ourselves (MMEngine then skips
  its own init) and give the DDP wrapper ``device_ids=None``.
* ``weights_only`` checkpoint loading: see :mod:`vidtoolbox.utils.compat` (done on ``import vidtoolbox``).
"""
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for tools)

import vidtoolbox  # noqa: F401  (registers safe globals for weights_only loading)


def load_config(config: str, cfg_options: Optional[dict] = None, work_dir: Optional[str] = None) -> Config:
    """Read a config file, apply ``--cfg-options`` and pick a work dir (``work_dirs/<config name>`` by default)."""
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.setdefault('default_scope', 'vidtoolbox')
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` (and the process group on CPU) for ``launcher`` ('none', 'pytorch')."""
    cfg.launcher = launcher
    if launcher == 'none':
        return
    if launcher != 'pytorch':
        raise ValueError(f'launcher must be "none" or "pytorch" (torchrun), got {launcher!r}')
    for var in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        if var not in os.environ:
            raise RuntimeError(f'--launcher pytorch needs the environment variable {var}; start the job with '
                               'torchrun (tools/dist_train.sh CONFIG NPROC)')
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


def build_runner(config: str, work_dir: Optional[str] = None, resume=None, amp: bool = False,
                 cfg_options: Optional[dict] = None, launcher: str = 'none', load_from: Optional[str] = None):
    """Return an MMEngine ``Runner`` for ``config``.

    Args:
        resume: ``None`` (no resume), ``'auto'`` (latest checkpoint in the work dir) or a checkpoint path.
        amp: mixed precision via ``AmpOptimWrapper`` (bfloat16 on CPU, float16 on GPU).
        load_from: weights to start from (no optimizer state).
    """
    from mmengine.runner import Runner

    cfg = load_config(config, cfg_options, work_dir)
    if resume is not None:
        if resume != 'auto' and not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {resume}')
        cfg.resume = True
        cfg.load_from = None if resume == 'auto' else resume
    if load_from is not None:
        cfg.load_from = load_from
    if amp:
        optim = cfg.get('optim_wrapper')
        if optim is None:
            raise KeyError('--amp needs an optim_wrapper in the config')
        optim.type = 'AmpOptimWrapper'
        if not torch.cuda.is_available():
            optim.setdefault('dtype', 'bfloat16')
        optim.setdefault('loss_scale', 'dynamic')
    setup_distributed(cfg, launcher)
    if 'runner_type' in cfg:
        from mmengine.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)

