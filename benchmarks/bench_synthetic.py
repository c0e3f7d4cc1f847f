"""Throughput of :class:`vidtoolbox.datasets.SyntheticMotionDataset` (clips rendered per second, one process).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_synthetic.py [--clips 100] [--gt-size 128] [--frames 5] [--pack]

Renders ``--clips`` clips after a warm-up of a few clips (photo decoding, imports) and prints clips/s for the
raw results dict and, with ``--pack``, for a training pipeline (``PairedRandomCrop(--patch)``, flips,
transpose, temporal reverse, ``PackVideoInputs``). Wall time depends on machine load; process CPU time less so.
"""
import argparse
import time

import cv2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clips', type=int, default=100)
    parser.add_argument('--gt-size', type=int, default=128)
    parser.add_argument('--frames', type=int, default=5)
    parser.add_argument('--scale', type=int, default=4)
    parser.add_argument('--objects', type=int, nargs=2, default=(1, 3))
    parser.add_argument('--pack', action='store_true', help='also run a training pipeline ending in PackVideoInputs')
    parser.add_argument('--patch', type=int, default=64, help='GT patch size of PairedRandomCrop with --pack')
    parser.add_argument('--cv2-threads', type=int, default=1)
    args = parser.parse_args()
    cv2.setNumThreads(args.cv2_threads)

    from vidtoolbox.datasets import SyntheticMotionDataset
    from vidtoolbox.datasets.synthetic import load_photo
    pipeline = []
    if args.pack:
        pipeline = [dict(type='PairedRandomCrop', gt_patch_size=args.patch),
                    dict(type='Flip', direction='horizontal', prob=0.5),
                    dict(type='Flip', direction='vertical', prob=0.5),
                    dict(type='RandomTranspose', prob=0.5),
                    dict(type='TemporalReverse', prob=0.5),
                    dict(type='PackVideoInputs')]
    warm = 5
    ds = SyntheticMotionDataset(num_clips=args.clips + warm, num_frames=args.frames, gt_size=args.gt_size,
                                scale=args.scale, num_objects=tuple(args.objects), pipeline=pipeline)
    for name in ds.photos:  # decode every photo of the split once (cached per process, as in training)
        load_photo(name)
    for i in range(warm):
        ds[i]
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(warm, warm + args.clips):
        ds[i]
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(f'SyntheticMotionDataset gt {args.gt_size}x{args.gt_size}, {args.frames} frames, x{args.scale}, '
          f'objects {tuple(args.objects)}, pipeline={"train+pack" if args.pack else "none"}: '
          f'{args.clips / dt:.1f} clips/s wall ({1000 * dt / args.clips:.1f} ms/clip), '
          f'{args.clips / dc:.1f} clips/s of process CPU time ({1000 * dc / args.clips:.1f} ms/clip)')


if __name__ == '__main__':
    main()
