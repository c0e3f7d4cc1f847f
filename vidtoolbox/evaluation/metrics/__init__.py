from .psnr import *  # noqa: F401,F403
from .ssim import *  # noqa: F401,F403
from .ms_ssim import *  # noqa: F401,F403
from .sharpness import *  # noqa: F401,F403
