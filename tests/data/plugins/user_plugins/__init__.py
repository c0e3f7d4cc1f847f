"""A user's plugin package, outside the toolbox (tests/plugins/ and docs/add_a_plugin.md use it).

Importing it registers four plugins with vidtoolbox's registries; a config names the package in
``custom_imports = dict(imports=['user_plugins'])`` and then uses the plugins by their registered names.
"""
from .gradient_loss import GradientL1Loss  # noqa: F401
from .my_dcn import MyDCN  # noqa: F401
from .phase_corr_flow import PhaseCorrFlow  # noqa: F401
from .scratch_align import ScratchFlowAlign  # noqa: F401
