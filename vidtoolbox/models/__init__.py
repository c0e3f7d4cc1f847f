"""Models: alignment blocks, flow sources, losses, architectures and task heads (all registered in MODELS)."""
from . import alignment, archs, flow, heads, losses  # noqa: F401
from .data_preprocessor import VideoDataPreprocessor  # noqa: F401
