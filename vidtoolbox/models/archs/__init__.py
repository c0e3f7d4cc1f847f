"""Networks (generators): one per file."""
from .edvr import *  # noqa: F401,F403
from .basicvsr_pp import *  # noqa: F401,F403
from .ifnet import *  # noqa: F401,F403
from .tsa import TSAFusion  # noqa: F401
from .resnet3d_predictor import *  # noqa: F401,F403
from .interp_net import *  # noqa: F401,F403
from .tdan import *  # noqa: F401,F403
from .flow_sr import *  # noqa: F401,F403
from .basicvsr import *  # noqa: F401,F403
