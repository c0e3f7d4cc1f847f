"""Visualise the learned alignment offsets of a trained model on a short clip.

    python tools/visualize_offsets.py CONFIG CKPT --input CLIP [--out DIR] [--frames N] [--start S]
                                      [--flow auto|gt|dis|none] [--clip-index I] [--gt-size S] [--overwrite]

``CLIP`` is a folder of frames (natural sort order), a video file, or ``builtin`` (a held-out clip of the built-in
synthetic dataset, with exact ground-truth flow). The output folder (default ``work_dirs/offset_vis/<clip name>``)
receives one labelled composite per alignment level (``pcd.l3.png`` … ``pcd.cascade.png``: reference and
neighbour frames, flow, mean offset, offset diversity, colour wheel with its scale) and ``summary.json``; see
:mod:`vidtoolbox.apis.offset_vis`. Exit status 1 with ``error: ...`` on bad input, and nothing written.
"""
import argparse
import sys

__all__ = ['parse_args', 'main']


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Visualise learned alignment offsets of a trained model')
    p.add_argument('config', help='model config, e.g. configs/edvr/edvr_m_x4_reds.py')
    p.add_argument('checkpoint', help='checkpoint (.pth) trained with that config')
    p.add_argument('--input', required=True,
                   help='a folder of LR frames, a video file, or "builtin" (a held-out synthetic clip with GT flow)')
    p.add_argument('--out', help='output folder (default work_dirs/offset_vis/<input name>)')
    p.add_argument('--frames', type=int, help="number of consecutive frames (default: the generator's num_frames)")
    p.add_argument('--start', type=int, default=0, help='index of the first frame read (default 0)')
    p.add_argument('--flow', choices=['auto', 'gt', 'dis', 'none'], default='auto',
                   help='flow compared with the offsets (default: gt for builtin, else dis)')
    p.add_argument('--clip-index', type=int, default=0, help='built-in clip index (with --input builtin)')
    p.add_argument('--gt-size', type=int, default=128,
                   help='GT frame size of the built-in clip (LR = gt-size / scale; default 128)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing output folder')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from vidtoolbox.apis.cli import run_tool
    from vidtoolbox.apis.offset_vis import visualize_offsets
    from vidtoolbox.evaluation.offset_stats import within_key

    def work():
        res = visualize_offsets(args.config, args.checkpoint, args.input, out=args.out, num_frames=args.frames,
                                start=args.start, flow=args.flow, clip_index=args.clip_index, gt_size=args.gt_size,
                                overwrite=args.overwrite)
        for lvl, st in res['levels'].items():
            extra = f'  within 1px {st[within_key(1.0)]:.3f}' if within_key(1.0) in st else ''
            print(f'{lvl:>14s}: mean |offset| {st["mean"]:.3f} px  max {st["max"]:.3f} px  '
                  f'diversity {st["diversity"]:.3f} px{extra}')
        print(f'wrote {res["out"]}')
        return 0

    return run_tool(work)


if __name__ == '__main__':
    sys.exit(main())
