"""Command line: ``python -m hessprobe info``."""

from __future__ import annotations

import argparse
import sys

from ._info import info


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    parser = argparse.ArgumentParser(prog="python -m hessprobe")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print the version and how this build was made")
    parser.parse_args(argv)
    for key, value in info().items():
        print(f"{key:9s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
