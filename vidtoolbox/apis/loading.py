"""Configs, models and trained checkpoints: the one loader every tool and API uses.

* :func:`load_config` — read a config file (+ ``--cfg-options``), pick the work dir; clear one-line errors.
* :func:`build_model` — build ``cfg.model`` in the config's default scope.
* :func:`load_checkpoint` — load a checkpoint written by ``tools/train.py`` into a model, strictly (every
  parameter must match; an architecture mismatch is an error that names the checkpoint's model type and the first
  missing / unexpected keys), with ``torch.load(weights_only=True)`` always passed explicitly.
* :func:`load_model` — all three: a config + a checkpoint → the model in eval mode on a device.
* :func:`select_device` — ``'cpu'``, ``'cuda:1'``, … or the default (CUDA when available).
"""
import os.path as osp
from typing import Optional

import torch

from vidtoolbox.utils.errors import UserInputError

__all__ = ['load_config', 'build_model', 'load_checkpoint', 'load_model', 'select_device']


def load_config(config: str, cfg_options: Optional[dict] = None, work_dir: Optional[str] = None):
    """Read a config file, apply ``cfg_options`` (``--cfg-options``) and pick a work dir
    (``work_dirs/<config name>`` unless the config or ``work_dir`` sets one).

    Raises:
        UserInputError: the file is missing or cannot be parsed (the message names the file and the problem).
    """
    from mmengine.config import Config
    if not isinstance(config, str) or not osp.isfile(config):
        raise UserInputError(f'config file not found: {config}')
    try:
        cfg = Config.fromfile(config)
    except Exception as err:  # noqa: BLE001 - SyntaxError, NameError, missing _base_ ... reported in one line
        detail = str(err).strip().splitlines()[-1] if str(err).strip() else ''
        raise UserInputError(f'cannot read config {config!r}: {type(err).__name__}: {detail}') from err
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.setdefault('default_scope', 'vidtoolbox')
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def build_model(cfg, what: str = 'config'):
    """Build ``cfg.model`` (a ``Config`` or dict) in the config's default scope.

    Raises:
        UserInputError: the config has no ``model`` entry.
    """
    from mmengine.registry import DefaultScope

    from vidtoolbox.registry import MODELS
    if 'model' not in cfg:
        raise UserInputError(f'{what} has no "model" entry')
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'vidtoolbox')):
        return MODELS.build(cfg['model'])


def load_checkpoint(model: torch.nn.Module, checkpoint: str, strict: bool = True) -> dict:
    """Load the weights of a ``tools/train.py`` checkpoint (MMEngine ``{'state_dict': ...}``, ``{'params': ...}``
    or a bare state dict) into ``model``, on CPU, with ``weights_only=True``
    (:func:`vidtoolbox.utils.weights.safe_torch_load`).

    Args:
        strict: every tensor of the model must be in the checkpoint and vice versa (shapes equal); ``False`` loads
            what matches.

    Returns:
        ``dict(loaded, missing, unexpected, mismatched)`` key lists (see
        :func:`vidtoolbox.utils.weights.load_weights_into`).

    Raises:
        UserInputError: missing, empty, unreadable or unsafe file; an architecture that does not match (the message
            names the checkpoint's model type and the first missing / unexpected keys).
    """
    from vidtoolbox.utils.weights import describe_checkpoint, load_weights_into, safe_torch_load, state_dict_from
    if not osp.isfile(checkpoint):
        raise UserInputError(f'checkpoint not found: {checkpoint}')
    ckpt = safe_torch_load(checkpoint)
    sd = state_dict_from(ckpt, source=f'checkpoint {checkpoint!r}')
    return load_weights_into(model, sd, strict=strict, source=f'checkpoint {checkpoint!r}',
                             description=describe_checkpoint(ckpt))


def select_device(device: Optional[str] = None) -> torch.device:
    """``device`` or, when ``None``, CUDA when available else CPU."""
    if device is None:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise UserInputError(f'invalid device {device!r}: {err}') from err
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise UserInputError(f'device {device!r} requested but CUDA is not available; use --device cpu')
    return dev


def load_model(config: str, checkpoint: str, device: Optional[str] = None, expected_type=None):
    """Build ``cfg.model`` of ``config`` and load ``checkpoint`` into it strictly (see :func:`load_checkpoint`).

    Args:
        config (str): config file path.
        checkpoint (str): checkpoint path.
        device (str, optional): target device (default: CUDA if available).
        expected_type (type or tuple, optional): refuse a model of another class (the message names both).

    Returns:
        the model, in eval mode, on ``device``.

    Raises:
        UserInputError: missing files, wrong model type, a checkpoint that does not fit the model.
    """
    if not osp.isfile(checkpoint):
        raise UserInputError(f'checkpoint not found: {checkpoint}')
    cfg = load_config(config)
    model = build_model(cfg, what=f'config {config!r}')
    if expected_type is not None and not isinstance(model, expected_type):
        names = [t.__name__ for t in (expected_type if isinstance(expected_type, tuple) else (expected_type,))]
        raise UserInputError(f'config {config!r} builds a {type(model).__name__}, expected {" or ".join(names)}')
    load_checkpoint(model, checkpoint, strict=True)
    return model.to(select_device(device)).eval()
