"""The commands ``info``, ``demo`` and ``bench``."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from .errors import CliError

__all__ = ["add_commands", "bench_script"]


def add_commands(sub: Any) -> None:
    """Add ``info``, ``demo`` and ``bench`` to the sub-parsers ``sub``."""
    info = sub.add_parser("info", help="print the version and how this build was made")
    info.set_defaults(run=_info)
    demo = sub.add_parser("demo", help="time exact HVPs and Hessian diagonals next to SciPy")
    demo.add_argument("-n", "--n", type=int, default=1_000_000, help="number of variables")
    demo.add_argument("--probes", type=int, default=100, help="Hutchinson probes")
    demo.set_defaults(run=_demo)
    bench = sub.add_parser(
        "bench",
        help="run the quick benchmark suite (bench/run.py --quick; needs a source checkout)",
        description="Run bench/run.py --quick: the benchmark suite at small sizes (seconds). "
        "It ships with the source, so this works from a checkout only.",
    )
    bench.set_defaults(run=_bench)


def _info(args: argparse.Namespace) -> int:
    from .._info import info

    for key, value in info().items():
        print(f"{key:9s} {value}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .._demo import run

    run(n=args.n, probes=args.probes)
    return 0


def bench_script() -> Path | None:
    """Return bench/run.py of the checkout this package runs from, or None (installed)."""
    script = Path(__file__).resolve().parents[3] / "bench" / "run.py"
    return script if script.is_file() else None


def _bench(args: argparse.Namespace) -> int:
    script = bench_script()
    if script is None:
        raise CliError(
            "the benchmarks ship with the source, not the package: run it from a checkout "
            "(git clone, pip install -e .), or there run python bench/run.py --quick"
        )
    return subprocess.call([sys.executable, str(script), "--quick"], cwd=script.parents[1])
