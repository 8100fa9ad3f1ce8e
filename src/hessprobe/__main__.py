"""Command line: ``python -m hessprobe info`` and ``python -m hessprobe demo``."""

from __future__ import annotations

import argparse
import sys

from ._info import info


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    parser = argparse.ArgumentParser(prog="python -m hessprobe")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print the version and how this build was made")
    demo = sub.add_parser("demo", help="time exact HVPs and Hessian diagonals next to SciPy")
    demo.add_argument("-n", type=int, default=1_000_000, help="number of variables")
    demo.add_argument("--probes", type=int, default=100, help="Hutchinson probes")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run

        run(n=args.n, probes=args.probes)
        return 0
    for key, value in info().items():
        print(f"{key:9s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
