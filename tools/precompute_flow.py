"""Precompute the reference flows ``flow(ref, t)`` of a config's dataset once, as ``.flo`` files.

    python tools/precompute_flow.py CONFIG [--out DIR] [--split train|val|test] [--preset medium|fast|ultrafast]
                                    [--pattern PATTERN] [--overwrite] [--cfg-options k=v ...]

The files are what ``LoadRefFlows`` (in the data pipeline) and ``FileFlow`` (a flow source) read: by default the
output folder and pattern are those of the ``LoadRefFlows`` in the config's pipeline (e.g.
``configs/edvr_m_ofl_flowfiles.py``), and the flow source that of its ``EstimateRefFlows`` (else OpenCV DIS
'medium' on the LR frames); see :mod:`vidtoolbox.apis.precompute_flow` and docs/losses.md. Exit status 1 with
``error: ...`` on bad input, and nothing written.
"""
import argparse
import sys

from mmengine.config import DictAction

__all__ = ['parse_args', 'main']


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Precompute a dataset's reference flows flow(ref, t) as .flo files")
    p.add_argument('config', help='config whose dataset is read, e.g. configs/edvr_m_ofl_flowfiles.py')
    p.add_argument('--out', help="output folder (default: the root of the pipeline's LoadRefFlows)")
    p.add_argument('--split', choices=['train', 'val', 'test'], default='train',
                   help='which dataloader of the config (default train)')
    p.add_argument('--preset', choices=['medium', 'fast', 'ultrafast'], default=None,
                   help="estimate with OpenCV DIS at this preset (default: the pipeline's EstimateRefFlows flow, "
                        'else DIS medium)')
    p.add_argument('--pattern', help="file pattern, fields {key} {src} {dst} {ref_index} (default: the pipeline's "
                   'LoadRefFlows pattern, else {key}/flow_{src}_{dst}.flo)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing output folder')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries: key=value')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from vidtoolbox.apis.cli import run_tool
    from vidtoolbox.apis.precompute_flow import precompute_ref_flows

    def work():
        flow = None if args.preset is None else dict(type='DISFlow', preset=args.preset)
        res = precompute_ref_flows(args.config, out=args.out, split=args.split, flow=flow, pattern=args.pattern,
                                   overwrite=args.overwrite, cfg_options=args.cfg_options)
        print(f'wrote {res["files"]} flow files for {res["samples"]} samples ({res["flow"]}) to {res["out"]} '
              f'(pattern {res["pattern"]})')
        return 0

    return run_tool(work)


if __name__ == '__main__':
    sys.exit(main())
