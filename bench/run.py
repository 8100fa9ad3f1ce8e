#!/usr/bin/env python
"""hessprobe benchmark: exact HVPs and Hutchinson probing against the alternatives, side by side.

Usage::

    python bench/run.py            # full run: Rosenbrock n = 100, 10^4, 10^6 (a few minutes)
    python bench/run.py --quick    # smoke run: n = 100, 1000, few repeats (seconds)
    python bench/run.py --out DIR  # where results.md, results.json and the PNGs go
                                   # (default: bench/results)

Everything is measured in ONE process, so every ratio compares numbers taken minutes apart on
the same machine state.  JAX, PyTorch, numdifftools and matplotlib are optional: a method whose
library does not import is skipped with a printed note.  A C compiler (``cc``) is needed for the
machine-bound probes, the native LowLevelCallable gradient and the hand-written C reference;
without one those rows are skipped too.

Exit code: 0 when every hessprobe row ran (targets MISSed are reported, not fatal); 1 when
hessprobe cannot be imported or one of its rows raised (a missing feature or a bug).  With
``--strict`` an alternative's runtime error (not a missing import) is fatal as well.
See bench/README.md for what each row means.

This file is the command line only.  The modules beside it: suite.py (the run, in order),
harness.py (timing, the rows, notes), problem.py (Rosenbrock, references, errors), machine.py
(machine info, the C programs, machine bounds), hessprobe_rows.py (hessprobe's rows: the only
module that calls hessprobe), alternatives.py (SciPy, NumPy, numdifftools, the C reference),
frameworks.py (JAX, PyTorch), targets.py (the issues' targets), report.py (the outputs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the modules beside this file

from harness import Bench
from report import update_readme
from suite import run

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: n = 100, 1000; few repeats")
    ap.add_argument(
        "--sizes", default="", help="comma-separated n (e.g. 1e4,1e6) instead of the defaults"
    )
    ap.add_argument(
        "--out", default=str(HERE / "results"), help="output directory (default: bench/results)"
    )
    ap.add_argument(
        "--strict", action="store_true", help="an alternative's runtime error is fatal too"
    )
    ap.add_argument(
        "--update-readme",
        action="store_true",
        help="copy the table into bench/README.md (full runs)",
    )
    args = ap.parse_args(argv)
    rc = run(Bench(args))
    if args.update_readme and rc == 0 and not args.quick:
        update_readme(Path(args.out) / "results.md", HERE / "README.md")
    return rc


if __name__ == "__main__":
    sys.exit(main())
