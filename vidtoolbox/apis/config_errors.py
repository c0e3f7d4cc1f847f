"""One-line explanations of the mistakes a config (or ``--cfg-options``) can make when MMEngine builds it.

MMEngine reports them as exceptions with long, wrapped messages (``class `VideoSR` in ...: class `EDVRNet` in ...:
EDVRNet.__init__() got an unexpected keyword argument 'mid_channel'``). :func:`explain_build_error` turns

* an unknown ``type`` into: the unknown name, the registry, and the registered names closest to it;
* a misspelled argument into: the class, the bad argument, the closest valid one and every valid argument;
* a missing required argument into: the class and the argument;

and returns ``None`` for any other exception (a bug keeps its traceback).
"""
import difflib
import inspect
import re
from typing import List, Optional

__all__ = ['explain_build_error', 'registered_names', 'find_registered_class']

_UNKNOWN = re.compile(r'(\S+) is not in the (?:(\w+)::)?([\w ]+) registry')
_BAD_KWARG = re.compile(r'(\w+)\.__init__\(\) got an unexpected keyword argument \'(\w+)\'')
_MISSING = re.compile(r'(\w+)\.__init__\(\) missing \d+ required (?:positional |keyword-only )?arguments?: (.+)$')


def _vidtoolbox_registries():
    from vidtoolbox import registry as R
    from mmengine.registry import Registry
    return [v for v in vars(R).values() if isinstance(v, Registry)]


def registered_names(registry_name: Optional[str] = None) -> List[str]:
    """Names registered in vidtoolbox's registry called ``registry_name`` (all when ``None``) and its MMEngine
    parent; the lazy locations are imported first so every built-in plugin is listed."""
    names = set()
    for reg in _vidtoolbox_registries():
        if registry_name is not None and reg.name != registry_name:
            continue
        try:
            reg.import_from_location()
        except Exception:  # noqa: BLE001 - listing names must never fail
            pass
        for r in (reg, reg.parent):
            if r is not None:
                names.update(k for k in r.module_dict if isinstance(k, str))
    return sorted(names)


def find_registered_class(name: str):
    """The class registered under ``name`` in any of vidtoolbox's registries (or their MMEngine parents)."""
    for reg in _vidtoolbox_registries():
        for r in (reg, reg.parent):
            if r is not None and name in r.module_dict:
                return r.module_dict[name]
    return None


def _innermost(text: str) -> str:
    # MMEngine prefixes every nesting level with "class `X` in path: "
    return re.split(r'class `\w+` in [^:]+: ', text)[-1].strip()


def explain_build_error(err: BaseException) -> Optional[str]:
    """A one-line message for a config mistake behind ``err``, or ``None`` (see the module docstring)."""
    text = _innermost(str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err))
    m = _UNKNOWN.search(text)
    if isinstance(err, KeyError) and m:
        name, reg = m.group(1).strip('`\'"'), m.group(3).strip()
        close = difflib.get_close_matches(name, registered_names(reg), n=5, cutoff=0.5)
        hint = f'; closest registered names: {", ".join(close)}' if close else \
            '; no registered name is close (a plugin of your own must be imported: custom_imports)'
        return f'unknown type {name!r} in the config ({reg} registry){hint}'
    m = _BAD_KWARG.search(text)
    if isinstance(err, TypeError) and m:
        cls_name, arg = m.group(1), m.group(2)
        cls_name = _concrete_class(err, cls_name) or cls_name
        valid = _arguments(cls_name)
        close = difflib.get_close_matches(arg, valid, n=1, cutoff=0.5)
        guess = f' (did you mean {close[0]!r}?)' if close else ''
        listing = f'; its arguments: {", ".join(valid)}' if valid else ''
        return f'{cls_name} has no argument {arg!r}{guess}{listing}'
    m = _MISSING.search(text)
    if isinstance(err, TypeError) and m:
        return f'{m.group(1)} needs the argument(s) {m.group(2)}; add them to its config'
    return None


def _concrete_class(err: BaseException, cls_name: str) -> Optional[str]:
    """When a base class's ``__init__`` refused an argument (``BaseDataset.__init__() got ...`` for a
    ``SyntheticMotionDataset`` config), the class the config builds: the innermost ``__init__`` frame of the
    traceback whose ``self`` derives from ``cls_name``."""
    frames = []
    tb = err.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        obj = frame.f_locals.get('self') if frame.f_code.co_name == '__init__' else None
        if obj is not None and any(k.__name__ == cls_name for k in type(obj).__mro__):
            return type(obj).__name__
    return None


def _arguments(cls_name: str) -> List[str]:
    """The keyword arguments a registered class accepts, following ``**kwargs`` up its base classes."""
    cls = find_registered_class(cls_name)
    if cls is None:
        return []
    names = []
    for klass in cls.__mro__:
        if '__init__' not in vars(klass):
            continue
        try:
            params = inspect.signature(klass.__init__).parameters
        except (TypeError, ValueError):
            break
        names += [p for p, v in params.items()
                  if p != 'self' and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD) and p not in names]
        if not any(v.kind == v.VAR_KEYWORD for v in params.values()):
            break
    return names
