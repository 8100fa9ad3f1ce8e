"""The argument parser of the command line, one sub-parser per command."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from . import curvature, simple

__all__ = ["build_parser"]


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (see PROG --help)`` and exit with code 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``hessprobe``: each command sets ``run`` to its function."""
    prog = "hessprobe" if not sys.argv[0].endswith("__main__.py") else "python -m hessprobe"
    parser = OneLineParser(prog=prog, description="Hessian curvature from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    simple.add_commands(sub)
    curvature.add_commands(sub)
    return parser
