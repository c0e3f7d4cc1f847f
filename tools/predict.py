"""Predict the future frames of a video (or frame folder) with a trained model or VFI-opt.

    python tools/predict.py INPUT OUTPUT --config CFG --checkpoint CKPT [--num-predict M] [--start S]
    python tools/predict.py INPUT OUTPUT --method vfi-opt [--iters N] [--num-predict M]

INPUT: a video file (mp4, ...) or a folder of frames (png/jpg, natural order). The context is the model's K frames
(VideoPrediction: its num_context; VFI-opt: 2) starting at --start, or the last K frames of the input. OUTPUT: a
video file (by extension, at the input's frame rate; --fps for folder inputs) or a folder of PNGs; it is written
to a temporary path and renamed when complete, so a failed run leaves nothing behind.
"""
import argparse
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='vidtoolbox video prediction')
    p.add_argument('input', help='video file or folder of frames')
    p.add_argument('output', help='output video file (.mp4, ...) or folder of PNGs')
    p.add_argument('--config', help='config of a trained VideoPrediction model')
    p.add_argument('--checkpoint', help='checkpoint (.pth) of that model')
    p.add_argument('--method', choices=['model', 'vfi-opt'], default=None,
                   help='"vfi-opt": optimise through the pretrained RIFE interpolator (no training); default: '
                        '"model" when --config is given')
    p.add_argument('--num-predict', '-m', type=int, default=5, help='frames to predict (default 5)')
    p.add_argument('--start', type=int, default=None, help='first context frame (default: the last K frames)')
    p.add_argument('--fps', type=float, default=None, help='frame rate of a folder input (needed for video output)')
    p.add_argument('--include-context', action='store_true', help='write the context frames before the predictions')
    p.add_argument('--iters', type=int, default=300, help='VFI-opt iterations per predicted frame (paper: 3000)')
    p.add_argument('--device', default=None, help='cpu, cuda, cuda:1 ... (default: cuda if available)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing output')
    p.add_argument('--no-progress', action='store_true', help='no progress bars')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    method = args.method or ('model' if args.config else None)
    if method is None:
        print('error: give --config CFG --checkpoint CKPT (a trained model) or --method vfi-opt', file=sys.stderr)
        return 2
    if method == 'model' and not (args.config and args.checkpoint):
        print('error: --method model needs both --config and --checkpoint', file=sys.stderr)
        return 2
    if method == 'vfi-opt' and (args.config or args.checkpoint):
        print('error: --method vfi-opt uses the pretrained RIFE interpolator; drop --config/--checkpoint',
              file=sys.stderr)
        return 2
    from vidtoolbox.apis.cli import run_tool
    from vidtoolbox.apis.loading import load_model
    from vidtoolbox.apis.predict import build_vfi_opt, predict_video
    from vidtoolbox.models.heads import VideoPrediction
    from vidtoolbox.utils.errors import UserInputError

    def work():
        if method == 'model':
            model = load_model(args.config, args.checkpoint, args.device, expected_type=VideoPrediction)
        else:
            if args.iters < 0:
                raise UserInputError(f'--iters must be >= 0, got {args.iters}')
            model = build_vfi_opt(num_iters=args.iters, device=args.device, progress=False)
        info = predict_video(args.input, args.output, model, args.num_predict, start=args.start, fps=args.fps,
                             include_context=args.include_context, overwrite=args.overwrite,
                             progress=not args.no_progress)
        first, last = info['context_indices']
        print(f'predicted {info["num_predict"]} frames after input frames {first}..{last} '
              f'({info["size"][1]}x{info["size"][0]}) -> {info["output"]}')
        return 0

    return run_tool(work)


if __name__ == '__main__':
    sys.exit(main())
