"""Smoke test of benchmarks/bench_corrwise.py --model resnet3d: the prediction rollout and its losses run."""
import pytest
import torch


def _bench(helpers):
    return helpers.load_benchmark('bench_corrwise')


def test_resnet3d_rollout_and_l1_losses(helpers):
    bench = _bench(helpers)
    model = bench.build_model('resnet3d', ngf=2)
    x = torch.rand(1, 2, 3, 16, 16)
    out = model(x)
    assert out.shape == (1, 3, 3, 16, 16)
    losses = bench.build_losses(['dis'], 'l1')
    assert type(losses['base']).__name__ == 'L1Loss'
    assert type(losses['corr-dis'].base).__name__ == 'L1Loss'
    gt = torch.stack([torch.roll(x[:, 1], k, dims=-1) for k in (1, 2, 3)], 1)
    for loss in losses.values():
        v = loss(pred=out, target=gt)
        v.backward(retain_graph=True)
        assert torch.isfinite(v) and v > 0


@pytest.mark.slow
def test_cli_runs_resnet3d(helpers):
    r = helpers.run(['benchmarks/bench_corrwise.py', '--model', 'resnet3d', '--ngf', '2', '--lr-size', '16',
                     '--batch', '1', '--steps', '1', '--warmup', '0', '--sources', 'dis', '--base', 'l1'])
    assert r.returncode == 0, r.stderr
    assert 'frames 16x16, 2 -> 3 base=l1' in r.stdout and 'corr-dis' in r.stdout
