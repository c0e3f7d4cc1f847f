"""Exception types for bad user input (caught by the tools and printed without a traceback)."""

__all__ = ['UserInputError', 'DatasetNotFoundError']


class UserInputError(ValueError):
    """A problem with what the user gave (a path, a file, an argument); the message says what was expected."""


class DatasetNotFoundError(UserInputError, FileNotFoundError):
    """A dataset folder or file is missing; the message names the path and the expected layout."""
