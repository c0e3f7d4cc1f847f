__all__ = []  # filled in by its owner
