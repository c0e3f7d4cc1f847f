"""What every reproduction claim shares: train/test runs through the tools' machinery, the result page, the plot.

A claim (one module of this package, registered in :data:`vidtoolbox.apis.reproduce.CLAIMS`) is a function
``run(ctx: ClaimContext) -> ClaimResult``. It trains and evaluates through :func:`train_and_test` (the same
:func:`vidtoolbox.apis.runner.build_runner` that ``tools/train.py`` / ``tools/test.py`` use: config files, the
``VidRunner``, checkpoints, metrics), builds a table and a picture, and returns them; :func:`write_result` turns the
result into ``docs/results/<claim>.md`` + ``docs/results/<claim>.png`` (``--quick`` runs write to the work dir
instead, so a smoke run never overwrites the documented result).
"""
import os
import os.path as osp
import platform
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from vidtoolbox.utils.atomic import AtomicPath, write_text

__all__ = ['ClaimContext', 'ClaimResult', 'train_and_test', 'markdown_table', 'write_result', 'save_figure',
           'mean_std', 'REPO_ROOT']

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


@dataclass
class ClaimContext:
    """What a claim is run with.

    Attributes:
        quick: the smoke version (the test suite's; <= 1 min): tiny models, a few iterations — checks the machinery,
            says nothing about the paper.
        device: ``'cpu'`` or ``'cuda'``.
        work_dir: where runs put their work dirs, checkpoints and logs.
        seeds: the seeds of the runs (a claim may use fewer in quick mode).
    """
    quick: bool = False
    device: str = 'cpu'
    work_dir: str = 'work_dirs/reproduce'
    seeds: Sequence[int] = (0, 1)

    def run_dir(self, *parts: str) -> str:
        return osp.join(self.work_dir, *parts)


@dataclass
class ClaimResult:
    """A claim's outcome.

    Attributes:
        title: one line, e.g. ``'Tab. 1: DCN vs its decomposition'``.
        paper: what the paper reports (a sentence or a small table, markdown).
        table: the measured table (markdown, e.g. from :func:`markdown_table`).
        verdict: whether the finding reproduced here, and why not when it did not — stated honestly.
        setting: what was run (dataset, model size, iterations, commands), markdown.
        figure: a function ``(path) -> None`` writing the PNG plot.
        data: the raw numbers (saved beside the page as JSON).
    """
    title: str
    paper: str
    table: str
    verdict: str
    setting: str
    figure: Optional[Callable[[str], None]] = None
    data: Dict[str, Any] = field(default_factory=dict)


def train_and_test(config: str, work_dir: str, cfg_options: Optional[dict] = None, seed: int = 0,
                   device: str = 'cpu', test: bool = True) -> dict:
    """Train ``config`` (as ``tools/train.py`` does) and evaluate the last model on its val set.

    Args:
        config: config file (relative to the repository root or absolute).
        work_dir: the run's work dir (a finished run with its checkpoint is reused: delete the folder to rerun).
        cfg_options: ``--cfg-options`` overrides.
        seed: ``randomness.seed`` of the run.
        device: only ``'cpu'`` or ``'cuda'``; ``'cuda'`` fails with a clear error without a GPU.
        test: evaluate after training (``runner.val_loop``); else only train.

    Returns:
        dict with ``metrics`` (the val metrics), ``log`` (``{scalar name: [(iteration, value), ...]}`` of the training
        log: losses, lr, offset statistics), ``minutes`` (wall time) and ``work_dir``.
    """
    import json

    import torch

    from vidtoolbox.apis.runner import build_runner
    from vidtoolbox.utils.errors import UserInputError
    if device == 'cuda' and not torch.cuda.is_available():
        raise UserInputError('--device cuda: no GPU is available here')
    if not osp.isabs(config):
        config = osp.join(REPO_ROOT, config)
    done = osp.join(work_dir, 'reproduce_run.json')
    if osp.isfile(done):
        with open(done) as f:
            return json.load(f)
    opts = dict(cfg_options or {})
    opts['randomness.seed'] = seed
    opts.setdefault('experiment_name', osp.basename(osp.normpath(work_dir)) + f'_{os.getpid()}_{time.time_ns()}')
    t0 = time.time()
    runner = build_runner(config, work_dir=work_dir, cfg_options=opts)
    runner.train()
    metrics = {}
    if test:
        metrics = {k: float(v) for k, v in runner.val_loop.run().items()}
    log = {}
    for key, buf in runner.message_hub.log_scalars.items():
        if key.startswith('train/'):
            vals, counts = buf.data
            log[key[len('train/'):]] = [float(v) for v in vals]
    out = dict(metrics=metrics, log=log, minutes=(time.time() - t0) / 60, work_dir=work_dir, seed=seed,
               config=osp.relpath(config, REPO_ROOT), cfg_options={k: str(v) for k, v in opts.items()})
    os.makedirs(work_dir, exist_ok=True)
    write_text(done, json.dumps(out, indent=1))
    return out


def mean_std(values: Sequence[float]) -> str:
    """``'m ± s'`` (sample std over seeds; just ``'m'`` for one value), 2 decimals."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 1:
        return f'{v[0]:.2f}'
    return f'{v.mean():.2f} ± {v.std(ddof=1):.2f}'


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table (numbers printed as given: format them first)."""
    lines = ['| ' + ' | '.join(map(str, header)) + ' |', '| ' + ' | '.join('---' for _ in header) + ' |']
    lines += ['| ' + ' | '.join(map(str, r)) + ' |' for r in rows]
    return '\n'.join(lines)


def save_figure(fig, path: str) -> None:
    """Save a matplotlib ``Figure`` (Agg canvas) to ``path`` atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    with AtomicPath(path) as ap:
        fig.savefig(ap.tmp, format='png', dpi=110, bbox_inches='tight')


def write_result(claim: str, result: ClaimResult, ctx: ClaimContext, seconds: float, command: str,
                 out_dir: Optional[str] = None) -> Dict[str, str]:
    """Write ``<claim>.md`` (+ ``.png``, ``.json``) to ``out_dir`` (default: ``docs/results`` for full runs, the work
    dir for ``--quick`` runs). Returns the paths written."""
    import json
    out_dir = out_dir or (ctx.run_dir('results') if ctx.quick else osp.join(REPO_ROOT, 'docs', 'results'))
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(md=osp.join(out_dir, f'{claim}.md'), json=osp.join(out_dir, f'{claim}.json'))
    plot = ''
    if result.figure is not None:
        paths['png'] = osp.join(out_dir, f'{claim}.png')
        result.figure(paths['png'])
        plot = f'\n![{claim}]({claim}.png)\n'
    quick = ('\n> **Quick (smoke) run**: tiny models and a few iterations to check the machinery; these numbers say '
             'nothing about the paper.\n' if ctx.quick else '')
    md = f"""# {result.title}
{quick}
Command: `{command}` — seeds {', '.join(map(str, ctx.seeds))}, wall time {seconds / 60:.1f} min on
{platform.machine()} ({os.cpu_count()} CPUs, device {ctx.device}).

## What the paper reports

{result.paper}

## Measured here

{result.table}
{plot}
## Verdict

{result.verdict}

## Setting

{result.setting}
"""
    write_text(paths['md'], md)
    write_text(paths['json'], json.dumps(dict(claim=claim, quick=ctx.quick, seeds=list(ctx.seeds),
                                               seconds=seconds, command=command, data=result.data), indent=1,
                                          default=float))
    return paths
