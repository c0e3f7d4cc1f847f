"""benchmarks/gpu_check.py's logic on the CPU (--dry-run): the op rows agree with the toolbox's op where another
implementation is importable, unavailable ones say why, the train-step rows and the table print."""
from pathlib import Path

import pytest
import torch



@pytest.fixture(scope='module')
def gpu_check(helpers):
    return helpers.load_benchmark('gpu_check')


def test_dcn_rows_on_the_cpu(gpu_check):
    rows = gpu_check.dcn_rows(gpu_check.DcnShape(1, 4, 9, 2, 3), torch.device('cpu'), repeats=1, warmup=0)
    assert [r['case'] for r in rows] == ['vidtoolbox', 'torchvision', 'mmcv']
    assert rows[0]['ms'] > 0
    for r in rows[1:]:
        if r['ms'] is None:
            assert r['notes'].startswith('n/a (')
        else:  # an importable implementation must agree with the toolbox's op
            diffs = [float(d) for d in r['notes'].split('vs vidtoolbox: ')[1].replace(',', '').split()[1::2]]
            assert max(diffs) < 1e-4, r['notes']


def test_train_rows_and_table_in_a_dry_run(gpu_check):
    rows = gpu_check.train_rows('cpu', repeats=1, warmup=0, dry_run=True,
                                cases=[('edvr_m+ofl[pipeline]', ('fp32', 'amp')), ('basicvsr', ('amp',))])
    assert [(r['case'], r['precision']) for r in rows] == [
        ('edvr_m+ofl[pipeline]', 'fp32'), ('edvr_m+ofl[pipeline]', 'amp bf16'), ('basicvsr', 'amp bf16')]
    assert rows[0]['its'] > 0 and rows[1]['its'] > 0 and rows[2]['ms'] is None
    assert 'DCN backend vidtoolbox (torch)' in rows[0]['notes'] and 'DIS per sample in the workers' in rows[0]['notes']
    lines = []
    gpu_check.print_table(rows, out=lines.append)
    assert lines[0].split()[:3] == ['kind', 'case', 'precision'] and len(lines) == 2 + len(rows)


def test_no_cuda_is_one_error_line(gpu_check, capsys):
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is present')
    assert gpu_check.main(['--device', 'cuda']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['error: no CUDA device here; run with --dry-run (or --device cpu) to check the logic on the CPU']


@pytest.mark.slow
def test_the_whole_dry_run_prints_one_table(gpu_check, capsys):
    assert gpu_check.main(['--dry-run']) == 0
    out = capsys.readouterr().out
    assert 'DRY RUN' in out and out.count('train step') == 6 and 'deform_conv2d fwd+bwd' in out
