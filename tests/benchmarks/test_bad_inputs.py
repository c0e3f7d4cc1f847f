"""The fast rows of benchmarks/bad_inputs.py (config, argument and file checks), in-process: each ends with exit
status != 0, one clear ``error:`` line, no exception escaping the tool and nothing left behind."""
import importlib.util
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location('bad_inputs', osp.join(ROOT, 'benchmarks', 'bad_inputs.py'))
BAD = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(BAD)
FAST = [c for c in BAD.CASES if c.name in BAD.FAST]


@pytest.fixture(scope='module')
def fixtures(tmp_path_factory):
    return BAD.Fixtures(str(tmp_path_factory.mktemp('bad_inputs')))


def test_the_table_is_large_and_the_fast_subset_is_known():
    assert len(BAD.CASES) >= 40
    assert len({c.name for c in BAD.CASES}) == len(BAD.CASES)
    assert set(BAD.FAST) <= {c.name for c in BAD.CASES} and len(FAST) >= 20


@pytest.mark.parametrize('case', FAST, ids=lambda c: c.name)
def test_fast_case(helpers, fixtures, case, capsys, monkeypatch):
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    argv = case.args(fixtures)
    assert argv[0] == f'tools/{case.tool}.py'
    if case.env.get('PYTHONPATH') == '':  # the missing-plugin case: the plugin folder must not be importable
        monkeypatch.setattr(sys, 'path', [p for p in sys.path if 'plugins' not in p])
        monkeypatch.delitem(sys.modules, 'my_plugin', raising=False)
    code = helpers.load_tool(case.tool).main(argv[1:])
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if ln.startswith('error:')]
    assert code == case.rc and errors and case.expect in errors[-1], (code, err[-2000:])
    assert not (fixtures.listing() - fixtures.snapshot), sorted(fixtures.listing() - fixtures.snapshot)
    assert not osp.exists(fixtures.code_ran)
