"""The bad-input table: every tool on broken or wrong inputs, as a hostile but fair user would try them.

For each case the tool runs in a subprocess (exactly what a user gets) inside a scratch folder, and the table shows
the exit code, the message (the last ``error: ...`` line), whether a Python traceback was printed, and whether
anything was left behind (a work dir, an output, a hidden ``.partial`` file). Every row must show a non-zero exit
code, a clear message, no traceback and no leftovers; the script exits 1 otherwise.

    python benchmarks/bad_inputs.py                 # the whole table (about 10 CPU-minutes)
    python benchmarks/bad_inputs.py --only train    # cases of one tool
    python benchmarks/bad_inputs.py --list          # case names

``tests/benchmarks/test_bad_inputs.py`` runs the fast cases (``FAST``) in the test suite. ``docs/reliability.md``
quotes the table.
"""
import argparse
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_edvr_builtin.py')

__all__ = ['Case', 'CASES', 'FAST', 'Fixtures', 'run_case', 'main']


@dataclass
class Case:
    """One row: ``args(fx)`` builds the command line (``tools/X.py ...``) from the fixtures; ``expect`` is a
    substring of the error message; ``rc`` the expected exit code; ``env`` extra environment variables."""
    name: str
    tool: str
    args: Callable[['Fixtures'], List[str]]
    expect: str
    rc: int = 1
    env: Dict[str, str] = field(default_factory=dict)


class Fixtures:
    """The broken and valid inputs the cases use, made once in ``root`` (kept out of the leftover check)."""

    def __init__(self, root: str):
        import numpy as np
        import torch
        self.root = root
        self.out = osp.join(root, 'out')  # outputs and work dirs go here; it must stay empty
        os.makedirs(self.out)
        d = osp.join(root, 'in')
        os.makedirs(d)
        self.d = d
        from vidtoolbox.apis.loading import build_model, load_config
        # checkpoints of several models (untrained weights are enough: only their structure matters)
        torch.manual_seed(0)
        self.edvr_ckpt = self._ckpt(build_model(load_config(TINY)), 'edvr.pth', 'VideoSR', 'EDVRNet')
        tdan_cfg = load_config(osp.join(ROOT, 'configs', 'demo', 'tdan_builtin.py'))
        tdan_cfg.model.generator.update(mid_channels=8, num_extract_block=1, num_reconstruct_block=1)
        self.tdan_ckpt = self._ckpt(build_model(tdan_cfg), 'tdan.pth', 'VideoSR', 'TDANNet')
        pred_cfg = load_config(osp.join(ROOT, 'configs', 'prediction', 'resnet3d_l1_builtin.py'))
        pred_cfg.model.generator.update(ngf=2)
        self.pred_cfg = osp.join(d, 'pred.py')
        with open(self.pred_cfg, 'w') as f:
            f.write(f"_base_ = [{osp.join(ROOT, 'configs', 'prediction', 'resnet3d_l1_builtin.py')!r}]\n"
                    "model = dict(generator=dict(ngf=2))\n")
        self.pred_ckpt = self._ckpt(build_model(load_config(self.pred_cfg)), 'pred.pth', 'VideoPrediction', '')
        self.random_bytes = self._write('random.pth', os.urandom(4096))
        self.empty = self._write('empty.pth', b'')
        with open(self.edvr_ckpt, 'rb') as f:
            self.truncated = self._write('truncated.pth', f.read()[:5000])

        class Evil:
            def __reduce__(self):
                return (os.system, (f'touch {osp.join(root, "CODE_RAN")}',))
        with open(osp.join(d, 'evil.pth'), 'wb') as f:
            pickle.dump({'state_dict': Evil()}, f, protocol=2)
        self.evil = osp.join(d, 'evil.pth')
        self.code_ran = osp.join(root, 'CODE_RAN')
        self.syntax_cfg = self._write('syntax.py', b"_base_ = ['x.py'\nmodel = dict(\n")
        self.not_a_video = self._write('not_a_video.mp4', b'this is text, not a video')
        # frame folders and videos
        import cv2
        rng = np.random.default_rng(0)

        def frames(n, h, w):
            tex = cv2.GaussianBlur(rng.random((h + 8, w + n + 8, 3)).astype(np.float32), (0, 0), 1.5)
            return [np.ascontiguousarray(tex[4:4 + h, n - i:n - i + w]) for i in range(n)]

        def folder(name, fr):
            p = osp.join(d, name)
            os.makedirs(p)
            for i, f in enumerate(fr):
                cv2.imwrite(osp.join(p, f'{i:04d}.png'), np.rint(f[..., ::-1] * 255).astype(np.uint8))
            return p
        self.clip = folder('clip', frames(6, 32, 48))
        self.mixed = folder('mixed', frames(2, 32, 48) + frames(1, 32, 40))
        self.tiny8 = folder('tiny8', frames(5, 8, 8))
        self.one_frame = folder('one_frame', frames(1, 32, 48))
        self.odd = folder('odd', frames(3, 31, 47))
        self.empty_dir = osp.join(d, 'empty_dir')
        os.makedirs(self.empty_dir)
        from vidtoolbox.apis.video_io import FrameWriter
        self.video = osp.join(d, 'clip.mp4')
        with FrameWriter(self.video, fps=10) as w:
            for f in frames(6, 32, 48):
                w.write(f)
        self.existing = osp.join(self.out, 'existing.mp4')
        shutil.copy(self.video, self.existing)
        # a REDS-layout folder with one truncated frame
        reds = osp.join(d, 'REDS')
        for sub, size in (('train_sharp', 64), ('train_sharp_bicubic/X4', 16)):
            for clip in ('000', '001'):
                p = osp.join(reds, sub, clip)
                os.makedirs(p)
                for i in range(5):
                    cv2.imwrite(osp.join(p, f'{i:08d}.png'), (rng.random((size, size, 3)) * 255).astype(np.uint8))
        bad = osp.join(reds, 'train_sharp_bicubic/X4', '001', '00000002.png')
        with open(bad, 'rb') as f:
            data = f.read()
        with open(bad, 'wb') as f:
            f.write(data[:len(data) // 2])
        self.reds = reds
        self.bad_frame = bad
        self.reds_cfg = osp.join(d, 'reds_tiny.py')
        with open(self.reds_cfg, 'w') as f:
            f.write(f"_base_ = [{osp.join(ROOT, 'configs', 'edvr', 'edvr_m_x4_reds.py')!r}]\n"
                    "model = dict(generator=dict(mid_channels=8, num_extract_block=1, num_reconstruct_block=1))\n"
                    f"train_dataloader = dict(batch_size=1, num_workers=2, persistent_workers=False, dataset=dict("
                    f"data_root={reds!r}, val_clips=('000',), pipeline=[dict(type='LoadFramesFromFiles'), "
                    "dict(type='PackVideoInputs')]))\n"
                    f"val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root={reds!r}, "
                    "val_clips=('000',)))\ntest_dataloader = val_dataloader\n"
                    "train_cfg = dict(max_iters=10, val_interval=1000)\n")
        self.snapshot = self.listing()

    def _write(self, name, data: bytes) -> str:
        p = osp.join(self.d, name)
        with open(p, 'wb') as f:
            f.write(data)
        return p

    def _ckpt(self, model, name, model_type, generator_type):
        import torch
        p = osp.join(self.d, name)
        torch.save(dict(state_dict=model.state_dict(), meta=dict(model_type=model_type, generator_type=generator_type)),
                   p)
        return p

    def wd(self, name='wd'):
        return osp.join(self.out, name)

    def o(self, name):
        return osp.join(self.out, name)

    def listing(self):
        out = []
        for base, dirs, files in os.walk(self.root):
            out += [osp.join(base, n) for n in dirs + files]
        return set(out)


def _train(*a):
    return ['tools/train.py', *a]


CASES: List[Case] = [
    # ---------------------------------------------------------------- train
    Case('train: config file missing', 'train', lambda fx: _train(osp.join(fx.d, 'nope.py')), 'config file not found'),
    Case('train: config with a syntax error', 'train', lambda fx: _train(fx.syntax_cfg, '--work-dir', fx.wd()),
         'cannot read config'),
    Case('train: unknown network type', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--cfg-options', 'model.generator.type=EDVRNett'),
         "unknown type 'EDVRNett' in the config (model registry); closest registered names: EDVRNet"),
    Case('train: misspelled network argument', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--cfg-options', 'model.generator.mid_channel=8'),
         "EDVRNet has no argument 'mid_channel' (did you mean 'mid_channels'?)"),
    Case('train: misspelled loop argument', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--cfg-options', 'train_cfg.max_iter=3'),
         "IterBasedTrainLoop has no argument 'max_iter' (did you mean 'max_iters'?)"),
    Case('train: unknown loss type', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--cfg-options', 'model.losses.0.type=CharbonierLoss'),
         "unknown type 'CharbonierLoss'"),
    Case('train: unknown dataset type', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--cfg-options', 'train_dataloader.dataset.type=Synth'),
         "unknown type 'Synth' in the config (dataset registry)"),
    Case('train: misspelled dataset argument', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--cfg-options', 'train_dataloader.dataset.gt_siz=8'),
         "SyntheticMotionDataset has no argument 'gt_siz' (did you mean 'gt_size'?)"),
    Case('train: --resume file missing', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--resume', osp.join(fx.d, 'nope.pth')),
         'checkpoint not found'),
    Case('train: --resume 0-byte file', 'train', lambda fx: _train(TINY, '--work-dir', fx.wd(), '--resume', fx.empty),
         'is empty (0 bytes)'),
    Case('train: --resume random bytes', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--resume', fx.random_bytes), 'not a readable torch file'),
    Case('train: --resume truncated checkpoint', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--resume', fx.truncated), 'not a readable torch file'),
    Case('train: --load-from another architecture', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--load-from', fx.tdan_ckpt),
         '(a VideoSR (TDANNet) checkpoint) does not fit the VideoSR (EDVRNet) model'),
    Case('train: --load-from random bytes', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--load-from', fx.random_bytes), 'not a readable torch file'),
    Case('train: --load-from a pickle that runs code', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--load-from', fx.evil),
         'holds Python objects that a safe (weights-only) load refuses'),
    Case('train: unsafe loading forced by the environment', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--load-from', fx.evil),
         'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set', env={'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'}),
    Case('train: REDS config without REDS', 'train',
         lambda fx: _train(osp.join(ROOT, 'configs', 'edvr_m_ofl.py'), '--work-dir', fx.wd(), '--cfg-options',
                           f'train_dataloader.dataset.data_root={osp.join(fx.d, "no_reds")}',
                           f'val_dataloader.dataset.data_root={osp.join(fx.d, "no_reds")}',
                           'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False'),
         'train_sharp'),
    Case('train: truncated PNG in a REDS folder (DataLoader worker)', 'train',
         lambda fx: _train(fx.reds_cfg, '--work-dir', fx.wd()), 'could not decode lq frame file'),
    Case('train: --launcher pytorch without torchrun', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--launcher', 'pytorch'),
         '--launcher pytorch needs the environment variables'),
    Case('train: --launcher slurm outside srun', 'train',
         lambda fx: _train(TINY, '--work-dir', fx.wd(), '--launcher', 'slurm'),
         '--launcher slurm needs the variables SLURM sets'),
    Case('train: custom_imports of a missing module', 'train',
         lambda fx: _train(osp.join(ROOT, 'tests', 'data', 'configs', 'custom_plugin.py'), '--work-dir', fx.wd()),
         'cannot read config', env={'PYTHONPATH': ''}),
    # ---------------------------------------------------------------- test
    Case('test: no checkpoint given', 'test', lambda fx: ['tools/test.py', TINY, '--work-dir', fx.wd()],
         'give a checkpoint'),
    Case('test: checkpoint missing', 'test',
         lambda fx: ['tools/test.py', TINY, osp.join(fx.d, 'nope.pth'), '--work-dir', fx.wd()],
         'checkpoint not found'),
    Case('test: checkpoint of another architecture', 'test',
         lambda fx: ['tools/test.py', TINY, fx.tdan_ckpt, '--work-dir', fx.wd()],
         '(a VideoSR (TDANNet) checkpoint) does not fit the VideoSR (EDVRNet) model'),
    Case('test: random-bytes checkpoint', 'test',
         lambda fx: ['tools/test.py', TINY, fx.random_bytes, '--work-dir', fx.wd()], 'not a readable torch file'),
    Case('test: truncated checkpoint', 'test',
         lambda fx: ['tools/test.py', TINY, fx.truncated, '--work-dir', fx.wd()], 'not a readable torch file'),
    Case('test: config with a syntax error', 'test',
         lambda fx: ['tools/test.py', fx.syntax_cfg, fx.edvr_ckpt, '--work-dir', fx.wd()], 'cannot read config'),
    # ---------------------------------------------------------------- predict
    Case('predict: input missing', 'predict',
         lambda fx: ['tools/predict.py', osp.join(fx.d, 'nope'), fx.o('p'), '--config', fx.pred_cfg, '--checkpoint',
                     fx.pred_ckpt], 'does not exist'),
    Case('predict: unreadable video', 'predict',
         lambda fx: ['tools/predict.py', fx.not_a_video, fx.o('p.mp4'), '--config', fx.pred_cfg, '--checkpoint',
                     fx.pred_ckpt], 'cannot read video'),
    Case('predict: frames of different sizes', 'predict',
         lambda fx: ['tools/predict.py', fx.mixed, fx.o('p'), '--config', fx.pred_cfg, '--checkpoint', fx.pred_ckpt],
         'all frames must have one size'),
    Case('predict: 8x8 frames for VFI-opt (DIS needs 12 px)', 'predict',
         lambda fx: ['tools/predict.py', fx.tiny8, fx.o('p'), '--method', 'vfi-opt', '--iters', '1', '-m', '1'],
         'cannot process the 8x8'),
    Case('predict: checkpoint of an SR model', 'predict',
         lambda fx: ['tools/predict.py', fx.clip, fx.o('p'), '--config', TINY, '--checkpoint', fx.edvr_ckpt],
         'builds a VideoSR, expected VideoPrediction'),
    Case('predict: random-bytes checkpoint', 'predict',
         lambda fx: ['tools/predict.py', fx.clip, fx.o('p'), '--config', fx.pred_cfg, '--checkpoint', fx.random_bytes],
         'not a readable torch file'),
    Case('predict: output .gif', 'predict',
         lambda fx: ['tools/predict.py', fx.clip, fx.o('p.gif'), '--config', fx.pred_cfg, '--checkpoint', fx.pred_ckpt],
         "'.gif' is not a video container"),
    Case('predict: output .xyz', 'predict',
         lambda fx: ['tools/predict.py', fx.clip, fx.o('p.xyz'), '--config', fx.pred_cfg, '--checkpoint', fx.pred_ckpt],
         "'.xyz' is not a video container"),
    Case('predict: existing output', 'predict',
         lambda fx: ['tools/predict.py', fx.video, fx.existing, '--config', fx.pred_cfg, '--checkpoint', fx.pred_ckpt],
         'already exists'),
    Case('predict: empty frame folder', 'predict',
         lambda fx: ['tools/predict.py', fx.empty_dir, fx.o('p'), '--config', fx.pred_cfg, '--checkpoint',
                     fx.pred_ckpt], 'holds no images'),
    Case('predict: no model given', 'predict', lambda fx: ['tools/predict.py', fx.clip, fx.o('p')],
         '--method vfi-opt', rc=2),
    # ---------------------------------------------------------------- interpolate
    Case('interpolate: input missing', 'interpolate',
         lambda fx: ['tools/interpolate.py', osp.join(fx.d, 'nope'), fx.o('i'), '--method', 'rife'],
         'does not exist'),
    Case('interpolate: a single frame', 'interpolate',
         lambda fx: ['tools/interpolate.py', fx.one_frame, fx.o('i'), '--method', 'rife'], 'frame'),
    Case('interpolate: factor 1', 'interpolate',
         lambda fx: ['tools/interpolate.py', fx.clip, fx.o('i'), '--method', 'rife', '--factor', '1'],
         'factor must be an int >= 2'),
    Case('interpolate: output .xyz', 'interpolate',
         lambda fx: ['tools/interpolate.py', fx.clip, fx.o('i.xyz'), '--method', 'rife'],
         "'.xyz' is not a video container"),
    Case('interpolate: odd frame size to H.264', 'interpolate',
         lambda fx: ['tools/interpolate.py', fx.odd, fx.o('i.mp4'), '--method', 'rife', '--fps', '5'],
         'even width and height'),
    Case('interpolate: checkpoint of a prediction model', 'interpolate',
         lambda fx: ['tools/interpolate.py', fx.clip, fx.o('i'), '--config', fx.pred_cfg, '--checkpoint',
                     fx.pred_ckpt], 'expected VideoInterpolation'),
    # ---------------------------------------------------------------- restore
    Case('restore: input missing', 'restore',
         lambda fx: ['tools/restore.py', osp.join(fx.d, 'nope'), fx.o('r'), '--config', TINY, '--checkpoint',
                     fx.edvr_ckpt, '--device', 'cpu'], 'does not exist'),
    Case('restore: unreadable video', 'restore',
         lambda fx: ['tools/restore.py', fx.not_a_video, fx.o('r.mp4'), '--config', TINY, '--checkpoint',
                     fx.edvr_ckpt, '--device', 'cpu'], 'cannot read video'),
    Case('restore: frames of different sizes', 'restore',
         lambda fx: ['tools/restore.py', fx.mixed, fx.o('r'), '--config', TINY, '--checkpoint', fx.edvr_ckpt,
                     '--device', 'cpu'], 'all frames must have one size'),
    Case('restore: checkpoint of a prediction model', 'restore',
         lambda fx: ['tools/restore.py', fx.clip, fx.o('r'), '--config', fx.pred_cfg, '--checkpoint', fx.pred_ckpt,
                     '--device', 'cpu'], 'expected VideoSR'),
    Case('restore: checkpoint of another architecture', 'restore',
         lambda fx: ['tools/restore.py', fx.clip, fx.o('r'), '--config', TINY, '--checkpoint', fx.tdan_ckpt,
                     '--device', 'cpu'], 'does not fit the VideoSR (EDVRNet) model'),
    Case('restore: truncated checkpoint', 'restore',
         lambda fx: ['tools/restore.py', fx.clip, fx.o('r'), '--config', TINY, '--checkpoint', fx.truncated,
                     '--device', 'cpu'], 'not a readable torch file'),
    Case('restore: tile not a multiple of 4', 'restore',
         lambda fx: ['tools/restore.py', fx.clip, fx.o('r'), '--config', TINY, '--checkpoint', fx.edvr_ckpt,
                     '--device', 'cpu', '--tile', '10'], '--tile 10 cannot work'),
    Case('restore: output .xyz', 'restore',
         lambda fx: ['tools/restore.py', fx.clip, fx.o('r.xyz'), '--config', TINY, '--checkpoint', fx.edvr_ckpt,
                     '--device', 'cpu'], "'.xyz' is not a video container"),
    Case('restore: existing output', 'restore',
         lambda fx: ['tools/restore.py', fx.video, fx.existing, '--config', TINY, '--checkpoint', fx.edvr_ckpt,
                     '--device', 'cpu'], 'already exists'),
    # ---------------------------------------------------------------- visualize_offsets
    Case('visualize_offsets: checkpoint of another architecture', 'visualize_offsets',
         lambda fx: ['tools/visualize_offsets.py', TINY, fx.tdan_ckpt, '--input', 'builtin', '--out', fx.o('v')],
         'does not fit the VideoSR (EDVRNet) model'),
    Case('visualize_offsets: too few frames', 'visualize_offsets',
         lambda fx: ['tools/visualize_offsets.py', TINY, fx.edvr_ckpt, '--input', fx.one_frame, '--out', fx.o('v')],
         'consecutive frames are needed'),
]

#: cases that finish in a few seconds (config/argument/file checks before any training): the test suite runs these
FAST = [c.name for c in CASES if c.tool in ('train', 'test') and 'REDS' not in c.name] + [
    'predict: output .gif', 'predict: no model given', 'interpolate: factor 1']


def run_case(case: Case, fx: Fixtures, timeout: int = 600) -> dict:
    """Run one case in a subprocess; returns the table row as a dict."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, osp.join(ROOT, 'tests', 'data', 'plugins'), os.environ.get('PYTHONPATH')) if p))
    env.update(case.env)
    t0 = time.time()
    r = subprocess.run([sys.executable] + case.args(fx), cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=timeout)
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith('error:')]
    message = errors[-1] if errors else (lines[-1] if lines else '')
    left = sorted(fx.listing() - fx.snapshot)
    for p in sorted(left, key=len, reverse=True):  # clean up for the next case
        if osp.isdir(p):
            shutil.rmtree(p, ignore_errors=True)
        elif osp.exists(p):
            os.remove(p)
    ran_code = osp.exists(fx.code_ran)
    ok = (r.returncode == case.rc and case.expect in message and 'Traceback' not in r.stderr and not left
          and not ran_code)
    return dict(case=case.name, rc=r.returncode, message=message, traceback='Traceback' in r.stderr,
                leftovers=[osp.relpath(p, fx.root) for p in left], code_ran=ran_code, ok=ok,
                seconds=time.time() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--only', help='run only the cases of this tool (train, test, predict, interpolate, ...)')
    p.add_argument('--fast', action='store_true', help='only the fast cases (those the test suite runs)')
    p.add_argument('--list', action='store_true', help='list the case names')
    args = p.parse_args(argv)
    cases = [c for c in CASES if (args.only is None or c.tool == args.only) and (not args.fast or c.name in FAST)]
    if args.list:
        print('\n'.join(c.name for c in cases))
        return 0
    root = tempfile.mkdtemp(prefix='vidtoolbox_bad_inputs_')
    try:
        fx = Fixtures(root)
        rows = []
        print(f'{"case":<62} {"exit":>4}  {"traceback":<9} {"leftovers":<9} message')
        for c in cases:
            row = run_case(c, fx)
            rows.append(row)
            print(f'{("" if row["ok"] else "FAIL ") + row["case"]:<62} {row["rc"]:>4}  '
                  f'{"yes" if row["traceback"] else "no":<9} {"yes" if row["leftovers"] else "no":<9} '
                  f'{row["message"][:160]}', flush=True)
        bad = [r for r in rows if not r['ok']]
        print(f'\n{len(rows)} cases, {len(rows) - len(bad)} with a clear message, no traceback and no leftovers'
              + (f'; {len(bad)} FAILED: {", ".join(r["case"] for r in bad)}' if bad else ''))
        return 1 if bad else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
