"""Perceptual (VGG19 feature) loss, with the VGG19 weights supplied by the user.

No ImageNet-pretrained VGG weights ship with the toolbox or its dependencies (torchvision must not be
installed, see ``requirements/constraints.txt``), so :class:`PerceptualLoss` needs ``vgg_weights``: a path to a
file holding a torchvision-format VGG19 state dict (e.g. the ``vgg19-dcbb9e9d.pth`` file that
``torchvision.models.vgg19(weights='IMAGENET1K_V1')`` downloads, obtained elsewhere). The file is read with
``torch.load(..., weights_only=True)``; keys ``features.<i>.weight`` / ``features.<i>.bias`` (a full VGG19
state dict, the ``classifier.*`` entries are ignored) or bare ``<i>.weight`` / ``<i>.bias`` (a ``features``
state dict) are accepted, with an optional ``module.`` prefix.
"""
import os
import os.path as osp
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.registry import MODELS
from vidtoolbox.utils.weights import load_state_dict_file
from .base import BaseLoss
from .pixelwise import check_same_shape

__all__ = ['PerceptualLoss', 'VGG19Features', 'VGG19_LAYER_NAMES']

#: VGG19 ``features`` configuration: channel counts, ``'M'`` = 2×2 max-pool.
_VGG19_CFG = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M',
              512, 512, 512, 512, 'M')


def _layer_names():
    names, block, conv = [], 1, 1
    for v in _VGG19_CFG:
        if v == 'M':
            names.append(f'pool{block}')
            block, conv = block + 1, 1
        else:
            names += [f'conv{block}_{conv}', f'relu{block}_{conv}']
            conv += 1
    return tuple(names)


#: names of the 37 layers of VGG19 ``features`` in torchvision's index order (``conv1_1`` = 0, ``relu1_1`` = 1,
#: ``conv1_2`` = 2, …, ``pool1`` = 4, …, ``conv5_4`` = 34, ``relu5_4`` = 35, ``pool5`` = 36).
VGG19_LAYER_NAMES = _layer_names()


class VGG19Features(nn.Module):
    """VGG19's convolutional ``features`` (torchvision layout and indices), up to the deepest requested layer.

    Args:
        layers: names from :data:`VGG19_LAYER_NAMES` whose outputs are returned.
        weights: path of a torchvision-format VGG19 state dict (see the module docstring). Required.
        use_input_norm: normalise inputs in [0, 1] with the ImageNet mean/std before the first conv.

    Forward:
        x: ``(N, 3, H, W)`` RGB in [0, 1].

    Returns:
        ``{name: (N, C_l, H_l, W_l)}`` feature maps.
    """

    def __init__(self, layers, weights: str, use_input_norm: bool = True):
        super().__init__()
        unknown = sorted(set(layers) - set(VGG19_LAYER_NAMES))
        if unknown:
            raise ValueError(f'VGG19Features: unknown layer names {unknown}; expected names such as '
                             f"'conv1_2', 'relu2_2', 'relu5_4', 'pool4' (see VGG19_LAYER_NAMES)")
        if not layers:
            raise ValueError('VGG19Features: at least one layer name is needed')
        self.layers = tuple(layers)
        full, in_ch = [], 3
        for v in _VGG19_CFG:
            if v == 'M':
                full.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                full += [nn.Conv2d(in_ch, v, kernel_size=3, padding=1), nn.ReLU(inplace=False)]
                in_ch = v
        features = nn.Sequential(*full)
        features.load_state_dict(self._read_weights(weights), strict=True)
        last = max(VGG19_LAYER_NAMES.index(n) for n in self.layers)
        self.features = features[:last + 1]
        self.use_input_norm = bool(use_input_norm)
        self.register_buffer('mean', torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def _read_weights(path) -> Dict[str, torch.Tensor]:
        if path is None:
            raise ValueError('PerceptualLoss: vgg_weights is required — the toolbox has no built-in VGG19 weights. '
                             'Pass vgg_weights=<path of a torchvision-format VGG19 state dict, e.g. '
                             'vgg19-dcbb9e9d.pth>.')
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f'PerceptualLoss: vgg_weights must be a file path, got {type(path).__name__}')
        path = os.fspath(path)
        if not osp.isfile(path):
            raise FileNotFoundError(f'PerceptualLoss: VGG19 weights file {path!r} does not exist; vgg_weights must '
                                    'point to a torchvision-format VGG19 state dict (e.g. vgg19-dcbb9e9d.pth)')
        try:
            sd = load_state_dict_file(path)  # weights_only=True; {'state_dict': ...} and 'module.' handled
        except (ValueError, KeyError) as err:
            raise ValueError(f'PerceptualLoss: {err}') from err
        if any(k.startswith('features.') for k in sd):
            sd = {k[len('features.'):]: v for k, v in sd.items() if k.startswith('features.')}
        expected = {f'{i}.{p}' for i, v in enumerate(VGG19_LAYER_NAMES) if v.startswith('conv')
                    for p in ('weight', 'bias')}
        missing, unexpected = sorted(expected - set(sd)), sorted(set(sd) - expected)
        if missing or unexpected:
            raise KeyError(f'PerceptualLoss: {path!r} is not a torchvision VGG19 state dict: missing '
                           f'{missing[:6]}{"…" if len(missing) > 6 else ""}, unexpected {unexpected[:6]}'
                           f'{"…" if len(unexpected) > 6 else ""} (expected keys features.<i>.weight/bias)')
        return sd

    def train(self, mode: bool = True):
        # always frozen: no dropout/BN, but keep eval so hooks that check .training see a frozen net
        return super().train(False)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        if self.use_input_norm:
            x = (x - self.mean) / self.std
        out = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            name = VGG19_LAYER_NAMES[i]
            if name in self.layers:
                out[name] = x
        return out


@MODELS.register_module()
class PerceptualLoss(BaseLoss):
    """``loss_weight · Σ_l w_l · criterion(φ_l(pred), φ_l(target))`` on frozen VGG19 features.

    Args:
        vgg_weights: path of a torchvision-format VGG19 state dict (required; see the module docstring).
        layer_weights: ``{layer_name: w_l}`` (names from :data:`VGG19_LAYER_NAMES`), default
            ``{'conv5_4': 1.0}`` (features before the ReLU, as ESRGAN / BasicSR use them).
        criterion: ``'l1'`` (mean absolute difference, default) | ``'l2'`` (mean squared difference).
        use_input_norm: ImageNet mean/std normalisation of the [0, 1] inputs (default True).
        loss_weight, loss_name (default ``'loss_percep'``), inputs: see :class:`BaseLoss`.

    Forward:
        pred, target: ``(B, 3, H, W)`` or ``(B, T, 3, H, W)`` RGB in [0, 1] (T folded into the batch); target
        features are computed without gradient.

    Returns:
        scalar tensor.
    """

    default_name = 'loss_percep'

    def __init__(self, vgg_weights: Optional[str] = None, layer_weights: Optional[dict] = None,
                 criterion: str = 'l1', use_input_norm: bool = True, loss_weight: float = 1.0,
                 loss_name: str = None, inputs: dict = None):
        super().__init__(loss_weight, loss_name, inputs)
        if criterion not in ('l1', 'l2'):
            raise ValueError(f"PerceptualLoss: criterion must be 'l1' or 'l2', got {criterion!r}")
        layer_weights = dict(layer_weights or {'conv5_4': 1.0})
        for k, v in layer_weights.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise TypeError(f'PerceptualLoss: layer_weights[{k!r}] must be a number, got {v!r}')
        self.layer_weights = {k: float(v) for k, v in layer_weights.items()}
        self.criterion = criterion
        self.vgg = VGG19Features(list(self.layer_weights), vgg_weights, use_input_norm)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape('PerceptualLoss', pred, target)
        if pred.dim() == 5:
            pred, target = pred.flatten(0, 1), target.flatten(0, 1)
        if pred.dim() != 4 or pred.shape[1] != 3:
            raise ValueError(f'PerceptualLoss: expected (B, 3, H, W) or (B, T, 3, H, W) RGB images, got shape '
                             f'{tuple(pred.shape)}')
        feats = self.vgg(pred)
        with torch.no_grad():
            tfeats = self.vgg(target.detach())
        dist = F.l1_loss if self.criterion == 'l1' else F.mse_loss
        total = sum(w * dist(feats[k], tfeats[k]) for k, w in self.layer_weights.items())
        return self.loss_weight * total

    def extra_repr(self) -> str:
        return f'layer_weights={self.layer_weights}, criterion={self.criterion!r}, loss_weight={self.loss_weight}'
