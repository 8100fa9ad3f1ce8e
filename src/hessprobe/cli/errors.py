"""The command line's one error type: a message for the user, printed as one line."""

from __future__ import annotations

__all__ = ["CliError"]


class CliError(Exception):
    """Bad input to a command: printed as ``hessprobe COMMAND: error: MESSAGE``, exit 2."""
