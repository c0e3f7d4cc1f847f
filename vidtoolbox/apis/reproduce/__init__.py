"""The papers' findings, one command per claim (``tools/reproduce.py CLAIM [--quick] [--device cpu|cuda]``).

Each claim is a module of this package with a ``run(ctx) -> ClaimResult`` function (see :mod:`.common`);
:data:`CLAIMS` maps the claim name to ``(module, one-line description)``. Modules are imported when run.
"""
import importlib

from .common import ClaimContext, ClaimResult, write_result  # noqa: F401

__all__ = ['CLAIMS', 'get_claim', 'ClaimContext', 'ClaimResult', 'write_result']

#: claim → (module of this package, what it shows); a claim module is added here when it is implemented
CLAIMS = {
    'toy': ('toy', 'Correspondence-wise losses, Fig. 2: under positional uncertainty pixel-wise L1 learns a blurry '
                   'median, correspondence-wise L1 a sharp object'),
    'pred': ('pred', 'Correspondence-wise losses, Tab. 1: ResNet-3D video prediction with L1 vs correspondence-wise '
                     'L1, PSNR/SSIM/sharpness at t+1 ... t+5'),
}


def get_claim(name: str):
    """The ``run(ctx)`` function of claim ``name``."""
    from vidtoolbox.utils.errors import UserInputError
    if name not in CLAIMS:
        raise UserInputError(f'unknown claim {name!r}; claims: {", ".join(sorted(CLAIMS))}')
    return importlib.import_module(f'{__name__}.{CLAIMS[name][0]}').run
