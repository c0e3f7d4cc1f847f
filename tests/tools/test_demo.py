"""tools/demo.py (what `make demo` runs) on a 2-iteration config."""
import glob
import json
import os.path as osp

import cv2

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_edvr_builtin.py')


def test_demo_two_iterations(helpers, tmp_path, capsys):
    wd = str(tmp_path / 'demo')
    code = helpers.load_tool('demo').main([TINY, '--work-dir', wd, '--cfg-options', 'train_cfg.max_iters=2',
                                           'val_dataloader.dataset.num_clips=3'])
    captured = capsys.readouterr()
    out = captured.out
    res = json.load(open(osp.join(wd, 'demo_result.json')))
    gain = res['model']['PSNR'] - res['bicubic']['PSNR']
    assert code == (0 if gain > 0 else 3)  # the exit status says whether the model beat bicubic
    assert res['iters'] == 2 and res['num_samples'] == 3
    assert f'model - bicubic: {gain:+.2f} dB' in out and 'work dir: ' in out
    assert 'Iter(train) [2/2]' in out
    assert 'Hooks will be executed' not in out and 'System environment' not in out  # those stay in the log file
    # every registry the run touched has a vidtoolbox child: no MMEngine scope fallback, on the console or in the log
    logs = [open(p).read() for p in glob.glob(osp.join(wd, '*', '*.log'))]
    assert logs and 'Hooks will be executed' in logs[0]
    for text in [out, captured.err] + logs:
        assert 'Failed to search registry' not in text
    img = cv2.imread(osp.join(wd, 'demo_comparison.png'))
    assert img is not None and img.shape[1] >= 3 * 256
