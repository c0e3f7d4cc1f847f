"""benchmarks/bench_train_step.py: the split's attribution (backward time goes to the part whose forward made it),
tiny versions of the cases run, the table and the split add up."""
import time
from dataclasses import replace

import pytest
import torch
import torch.nn as nn
from torch.autograd.profiler import record_function
from torch.profiler import ProfilerActivity, profile

TINY = {'edvr': {'model.generator.mid_channels': 8, 'model.generator.deform_groups': 2,
                 'model.generator.num_extract_block': 1, 'model.generator.num_reconstruct_block': 1},
        'basicvsr': {'model.generator.mid_channels': 8, 'model.generator.num_blocks': 1}}


@pytest.fixture(scope='module')
def bench(helpers):
    return helpers.load_benchmark('bench_train_step')


def _tiny(bench, name):
    case = next(c for c in bench.CASES if c.name == name)
    return replace(case, cfg_options=dict(case.cfg_options, **TINY[case.family]))


def test_backward_time_goes_to_the_part_of_its_forward(bench):
    torch.manual_seed(0)
    heavy, light = nn.Conv2d(16, 16, 3, padding=1), nn.Linear(4, 4)
    x = torch.randn(4, 16, 48, 48, requires_grad=True)
    y = torch.randn(3, 4, requires_grad=True)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with record_function(bench._LABEL + 'heavy'):
            a = heavy(x)
        with record_function(bench._LABEL + 'light'):
            b = light(y)
        (a.square().mean() + b.sum()).backward()
    parts = bench.attribute_profile(prof.events())
    assert set(parts) == {'heavy', 'light', 'other'}
    events = [e for e in prof.events() if not e.name.startswith(bench._LABEL)]
    conv_bwd = sum(e.self_cpu_time_total for e in events if e.name == 'aten::convolution_backward')
    assert conv_bwd > 0 and parts['heavy']['bwd'] >= conv_bwd  # the conv's backward is the heavy part's
    assert parts['heavy']['fwd'] > 0 and parts['light']['bwd'] > 0 and parts['heavy']['bwd'] > parts['light']['bwd']
    # every event's self time (the labels' own included) is counted exactly once
    total = sum(v['fwd'] + v['bwd'] for v in parts.values())
    assert total == pytest.approx(sum(e.self_cpu_time_total for e in prof.events()), rel=1e-9)


def test_work_outside_torch_ops_counts_to_its_part(bench):
    """Time in a part that no torch op records (here a 50 ms sleep, as OpenCV's DIS in a flow source) is that
    part's, not lost."""
    x = torch.randn(64, 64)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with record_function(bench._LABEL + 'loss: flow'):
            time.sleep(0.05)
            y = x + 1
        with record_function(bench._LABEL + 'net'):
            z = x @ x
    parts = bench.attribute_profile(prof.events())
    assert parts['loss: flow']['fwd'] >= 50e3  # microseconds
    assert parts['net']['fwd'] < 50e3
    assert y.shape == z.shape


def test_edvr_case_runs_and_the_split_adds_up(bench):
    lines = []
    built = bench.build_case(_tiny(bench, 'edvr_m+ofl[step]'), 'demo', batch=1)
    rows = bench.run_table([built], repeats=1, warmup=0, out=lines.append)
    assert rows[0]['name'] == 'edvr_m+ofl[step]' and rows[0]['median_s'] > 0 and rows[0]['worker_flow_s'] is None
    assert '* batch scaled' in '\n'.join(lines)
    split = bench.split_step(built, rows[0]['median_s'], out=lines.append)
    assert {'feature extraction', 'offset convs', 'DCNs', 'TSA fusion', 'reconstruction', 'loss', 'loss: flow',
            'optimizer (Adam step)'} <= set(split)
    assert sum(split.values()) == pytest.approx(rows[0]['median_s'] * 1e3, rel=1e-6)
    assert split['loss: flow'] > 0
    # the labels are removed afterwards: the flow source's and PCD's methods are the class's again
    assert not {'flow', 'flow_from_context'} & set(vars(built.model.losses[1].flow_source))
    assert not {'reference_terms', 'conv_with_reference'} & set(vars(built.model.generator.pcd_align))


@pytest.mark.slow
def test_pipeline_case_carries_the_flow_and_times_the_workers_share(bench):
    lines = []
    builts = [bench.build_case(_tiny(bench, n), 'demo', batch=1) for n in ('edvr_m', 'edvr_m+ofl[pipeline]')]
    rows = bench.run_table(builts, repeats=1, warmup=0, out=lines.append)
    assert rows[1]['worker_flow_s'] > 0 and rows[0]['worker_flow_s'] is None
    assert 'edvr_m+ofl[pipeline] / edvr_m' in '\n'.join(lines)
    assert tuple(builts[1].data['data_samples'][0]['ref_flows'].shape) == (5, 2, 16, 16)
    split = bench.split_step(builts[1], rows[1]['median_s'], out=lines.append)
    assert split.get('loss: flow', 0.0) < 0.05 * split['loss'] + 1.0  # GTFlow reads the carried flow


def test_pcd_plain_case_switches_the_shared_reference_off(bench):
    built = bench.build_case(_tiny(bench, 'edvr_m[pcd-plain]'), 'demo', batch=1)
    assert built.model.generator.pcd_align.share_reference is False


@pytest.mark.slow
def test_basicvsr_case_splits_into_flow_propagation_and_warping(bench):
    built = bench.build_case(_tiny(bench, 'basicvsr'), 'demo', lr=64, frames=2)
    split = bench.split_step(built, 1.0, out=lambda *_: None)
    assert {'flow (SPyNet)', 'propagation trunks', 'feature warping (flow_warp)', 'reconstruction'} <= set(split)
