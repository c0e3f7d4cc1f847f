"""The built-in demo: train a config on the built-in dataset, then compare with bicubic on held-out clips.

    python tools/demo.py [CONFIG] [--work-dir DIR] [--cfg-options k=v ...]

Prints PSNR/SSIM of the model and of bicubic upsampling on the held-out built-in clips, the final training
losses (and offset statistics when the model aligns with offsets), and saves a side-by-side image
(bicubic | output | GT) plus ``demo_result.json`` in the work dir.
"""
import argparse
import os.path as osp
import sys
import time

from mmengine.config import DictAction


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='vidtoolbox built-in demo')
    p.add_argument('config', nargs='?', default='configs/demo/edvr_m_ofl_builtin.py')
    p.add_argument('--work-dir')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--verbose', action='store_true', help="MMEngine's full console output")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from vidtoolbox.apis.cli import NewWorkDir, announce_run, run_tool
    work_dir = NewWorkDir()

    def work():
        import torch

        from vidtoolbox.apis.runner import build_runner
        from vidtoolbox.apis.sr_eval import evaluate_sr_vs_bicubic, save_comparison
        from vidtoolbox.utils.atomic import write_json
        from vidtoolbox.apis.loading import load_config
        t0 = time.time()
        work_dir.set(load_config(args.config, args.cfg_options, args.work_dir).work_dir)
        runner = build_runner(args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                              verbose=args.verbose)
        print('=== vidtoolbox demo ===')
        announce_run(runner, args.config)
        runner.train()
        train_s = time.time() - t0
        hub = runner.message_hub
        train_logs = {}
        for k, buf in hub.log_scalars.items():
            if k.startswith('train/') and ('loss' in k or 'offset' in k):
                train_logs[k[len('train/'):]] = float(buf.mean(50))
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        res = evaluate_sr_vs_bicubic(model, runner.val_dataloader)
        img_path = save_comparison(res.pop('example'), osp.join(runner.work_dir, 'demo_comparison.png'))
        total_s = time.time() - t0

        print(f'trained {runner.iter} iterations in {train_s / 60:.1f} min (total {total_s / 60:.1f} min, '
              f'{torch.get_num_threads()} threads)')
        if train_logs:
            print('final training values (mean of the last 50 iterations):')
            for k, v in sorted(train_logs.items()):
                print(f'  {k:<22} {v:.4f}')
        print(f'held-out built-in clips ({res["num_samples"]} clips, RGB, [0,255]):')
        print(f'  {"method":<10} {"PSNR (dB)":>10} {"SSIM":>8}')
        for name in ('bicubic', 'model'):
            print(f'  {name:<10} {res[name]["PSNR"]:>10.2f} {res[name]["SSIM"]:>8.4f}')
        gain = res['model']['PSNR'] - res['bicubic']['PSNR']
        print(f'  model - bicubic: {gain:+.2f} dB')
        print(f'side-by-side (bicubic | output | GT): {img_path}')
        write_json(osp.join(runner.work_dir, 'demo_result.json'),
                   dict(config=args.config, iters=runner.iter, train_minutes=train_s / 60,
                        total_minutes=total_s / 60, train=train_logs, **res))
        return 0 if gain > 0 else 3

    return run_tool(work, on_error=work_dir.discard)


if __name__ == '__main__':
    sys.exit(main())
