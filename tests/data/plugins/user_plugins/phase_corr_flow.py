"""A user's flow source: one global translation per image pair, by FFT phase correlation.

It estimates from pixels (``can_estimate = True``), so the offset-fidelity loss and the correspondence-wise loss
accept it like DIS or SPyNet; it is not differentiable.
"""
import torch

from vidtoolbox.models.flow import BaseFlowSource
from vidtoolbox.registry import MODELS


@MODELS.register_module()
class PhaseCorrFlow(BaseFlowSource):
    """``flow(src, dst)``: the integer shift ``d`` maximising the phase correlation, so that ``src(p) ≈ dst(p + d)``,
    as a constant ``(B, 2, H, W)`` field (dx, dy) in pixels."""

    differentiable = False
    can_estimate = True

    def flow(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        self.check_pair(src, dst)
        a, b = src.detach().float().mean(1), dst.detach().float().mean(1)     # (B, H, W) grey
        cross = torch.fft.fft2(b) * torch.fft.fft2(a).conj()
        corr = torch.fft.ifft2(cross / cross.abs().clamp_min(1e-8)).real     # peak at the shift of dst vs src
        B, H, W = corr.shape
        idx = corr.view(B, -1).argmax(1)
        dy, dx = (idx // W).float(), (idx % W).float()
        dy = torch.where(dy > H // 2, dy - H, dy)
        dx = torch.where(dx > W // 2, dx - W, dx)
        return torch.stack([dx, dy], 1).view(B, 2, 1, 1).expand(B, 2, H, W).to(src.dtype).contiguous()
