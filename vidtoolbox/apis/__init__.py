"""High-level APIs that tools/ call."""
