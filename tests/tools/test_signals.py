"""SIGTERM and Ctrl-C during a run: one line, exit 143 / 130, and no partial output left behind."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('sig, code, word', [(signal.SIGTERM, 143, 'terminated'), (signal.SIGINT, 130, 'interrupted')])
def test_signal_while_writing_leaves_nothing(helpers, tmp_path, sig, code, word):
    cfg, ckpt, _ = helpers.tiny_checkpoint(tmp_path, 'configs/interpolation/flow_interp_l1_builtin.py',
                                           dict(generator=dict(mid_channels=2, num_levels=2)))
    src = helpers.write_folder(tmp_path / 'frames', helpers.moving_frames(120, h=64, w=96))
    out = tmp_path / 'out'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, 'tools/interpolate.py', src, str(out), '--config', cfg, '--checkpoint',
                             ckpt, '--device', 'cpu', '--no-progress'], cwd=ROOT, env=env, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and not any('.partial' in n for n in os.listdir(tmp_path)):
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        assert any('.partial' in n for n in os.listdir(tmp_path)), 'the output never started'
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err[-2000:]
    assert err.strip().splitlines()[-1] == word and 'Traceback' not in err
    assert not out.exists() and not helpers.leftovers(str(tmp_path))
