from .base import BaseLoss, reduce_loss
from .charbonnier import CharbonnierLoss

__all__ = ['BaseLoss', 'reduce_loss', 'CharbonnierLoss']
from .pixelwise import *  # noqa: F401,F403
from .ssim_loss import *  # noqa: F401,F403
from .perceptual import *  # noqa: F401,F403
from .flow_regularizers import *  # noqa: F401,F403
from .offset_fidelity import *  # noqa: F401,F403
from .correspondence_wise import *  # noqa: F401,F403
__all__ += [n for _m in ('pixelwise', 'ssim_loss', 'perceptual', 'flow_regularizers', 'offset_fidelity',
                        'correspondence_wise') for n in __import__('sys').modules[f'{__name__}.{_m}'].__all__]
