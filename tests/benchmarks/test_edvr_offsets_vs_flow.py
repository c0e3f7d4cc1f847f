"""benchmarks/edvr_offsets_vs_flow.py on tiny runs: a fresh flow-guided EDVR sits exactly on the GT flow, DCNv2 at 0."""
import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]

TINY = """_base_ = ['{base}']
model = dict(generator=dict(mid_channels=8, num_extract_block=1, num_reconstruct_block=1, deform_groups=2{extra}))
val_dataloader = dict(dataset=dict(num_clips=2, gt_size=64))
"""


@pytest.fixture(scope='module')
def bench(helpers):
    return helpers.load_benchmark('edvr_offsets_vs_flow')


def _run_dir(bench, tmp_path, name, extra):
    cfg = tmp_path / f'{name}.py'
    cfg.write_text(TINY.format(base=ROOT / 'configs' / 'demo' / 'edvr_m_ofl_builtin.py', extra=extra))
    work = tmp_path / name
    work.mkdir()
    model, _ = bench.build(str(cfg))
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), work / 'iter_3.pth')
    # what tools/demo.py writes (the values here are only read back and printed)
    (work / 'demo_result.json').write_text(json.dumps(dict(iters=3, train_minutes=0.1, model=dict(PSNR=30.0, SSIM=0.9),
                                                           bicubic=dict(PSNR=29.5, SSIM=0.88))))
    return str(cfg), str(work)


def test_fresh_flow_guided_offsets_are_the_flow_and_dcn_offsets_are_zero(bench, tmp_path, capsys):
    fgda = _run_dir(bench, tmp_path, 'fgda', ", align_cfg=dict(_delete_=True, type='FlowGuidedDCNAlign'), "
                                             "flow_cfg=dict(type='GTFlow')")
    dcn = _run_dir(bench, tmp_path, 'dcn', '')
    out = tmp_path / 'table.json'
    assert bench.main(['--run', 'fgda', *fgda, '--run', 'dcn', *dcn, '--json', str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r['run'], r['when']) for r in rows] == [('fgda', 'iter 3'), ('dcn', 'iter 3')]
    for lvl, s in rows[0]['levels'].items():  # the saved model is the fresh one: offsets = GT flow exactly
        assert s['flow'] > 0.05 and s['dist'] < 1e-5 and s['within1'] == 1.0 and abs(s['offset'] - s['flow']) < 1e-5
    for lvl, s in rows[1]['levels'].items():  # zero-initialised DCN offsets: no alignment, dist = |flow|
        assert s['offset'] == 0.0 and abs(s['dist'] - s['flow']) < 1e-6
    assert rows[0]['gain'] == pytest.approx(0.5)  # read back from demo_result.json
    for r in rows:  # recomputed on the clips: the fresh models are close to their bicubic base
        assert 10.0 < r['psnr'] < 50.0
    assert rows[0]['static'] is None  # GTFlow reads the sample: no static-clip variant
    assert 10.0 < rows[1]['static'] < 50.0 and rows[1]['static'] != rows[1]['psnr']
    printed = capsys.readouterr().out
    assert 'pcd.l1' in printed and 'PSNR-static' in printed
