"""The papers' findings, one command per claim (``tools/reproduce.py CLAIM [--quick] [--device cpu|cuda]``).

Each claim is a module of this package with a ``run(ctx) -> ClaimResult`` function (see :mod:`.common`);
:data:`CLAIMS` maps the claim name to ``(module, one-line description)``. Modules are imported when run.
"""
import importlib

from .common import ClaimContext, ClaimResult, write_result  # noqa: F401

__all__ = ['CLAIMS', 'get_claim', 'ClaimContext', 'ClaimResult', 'write_result']

#: claim → (module of this package, what it shows); a claim module is added here when it is implemented
CLAIMS = {
    'tab1': ('tab1', 'Understanding Deformable Alignment Tab. 1: DCN vs its decomposition, G in {1, 8}, k in {1, 3}'),
    'fig9': ('fig9', 'Understanding Deformable Alignment Fig. 9 / Tab. 2: PSNR and offset diversity vs N offsets'),
    'fig5': ('fig5', 'Understanding Deformable Alignment Fig. 5: G = N = 1 offsets vs ground-truth flow'),
    'tab4': ('tab4', 'Understanding Deformable Alignment Tab. 4: feature- vs image-level flow warping'),
    'ofl': ('ofl', 'Understanding Deformable Alignment Tab. 3 / Fig. 10: offset overflow without / with the loss'),
    'toy': ('toy', 'Correspondence-wise losses, Fig. 2: under positional uncertainty pixel-wise L1 learns a blurry '
                   'median, correspondence-wise L1 a sharp object'),
    'pred': ('pred', 'Correspondence-wise losses, Tab. 1: ResNet-3D video prediction with L1 vs correspondence-wise '
                     'L1, PSNR/SSIM/sharpness at t+1 ... t+5'),
    'vfiopt': ('vfiopt', 'Optimizing Video Prediction via Video Frame Interpolation: VFI-opt vs copy-last, vs its own '
                         'initialisation (linear flow extrapolation), vs zero init, per iteration count'),
}


def get_claim(name: str):
    """The ``run(ctx)`` function of claim ``name``."""
    from vidtoolbox.utils.errors import UserInputError
    if name not in CLAIMS:
        raise UserInputError(f'unknown claim {name!r}; claims: {", ".join(sorted(CLAIMS))}')
    return importlib.import_module(f'{__name__}.{CLAIMS[name][0]}').run
