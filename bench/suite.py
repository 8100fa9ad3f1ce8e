"""One run of the benchmark, in order: the machine, the imports, the rows of every size (each
task's rows side by side, hessprobe's first), memory, the error curve, targets, the outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alternatives import Alternatives
from frameworks import JaxRows, TorchRows, load_jax, load_torch
from harness import Bench, fmt_n, loadavg, perf, say
from hessprobe_rows import HessprobeRows, error_curve, import_hessprobe, memory_check
from machine import (
    Native,
    Toolchain,
    build_native,
    compute_bounds,
    machine_bound,
    machine_info,
    record_threadpools,
)
from problem import Problem
from report import write
from targets import INTERLEAVED, evaluate_targets


@dataclass
class Libraries:
    """What the rows run on: hessprobe, the optional alternatives (None when absent), C code."""

    hp: Any
    jax: tuple[Any, Any] | None
    torch: Any
    nd: Any
    native: Native
    tc: Toolchain


def run(b: Bench) -> int:
    """The whole run; the exit code (see run.py)."""
    machine_info(b)
    hp = import_hessprobe(b)
    if hp is None:
        return 1
    jax, torch = load_jax(b), load_torch(b)
    nd = b.optional("numdifftools")
    if nd is not None:
        b.machine["numdifftools"] = nd.__version__
    record_threadpools(b)
    say(f"imports done {b.elapsed()}")
    tc = Toolchain(b)
    try:
        machine_bound(b, tc)
        libs = Libraries(hp, jax, torch, nd, build_native(b, tc), tc)
        for n in b.sizes:
            run_size(b, libs, n)
            compute_bounds(b, n)
        memory_check(b, libs.native)
        error_curve(b, hp)
        evaluate_targets(b)
        b.phase("writing the table, the JSON and the plots")
        b.machine["wall_seconds"] = perf() - b.t_start
        b.machine["loadavg_end"] = loadavg()
        write(b)
    finally:
        tc.cleanup()
    say(f"done {b.elapsed()}")
    return exit_code(b)


def run_size(b: Bench, libs: Libraries, n: int) -> None:
    """Every row at size n.  The order of the calls is the order of the rows in the tables."""
    b.phase(f"Rosenbrock n = {fmt_n(n)}")
    p = Problem(n)
    hessprobe = HessprobeRows(b, libs.hp, p, libs.native)
    alt = Alternatives(b, p, libs.nd, libs.native, libs.tc)
    jax = JaxRows(b, libs.jax, p)
    torch = TorchRows(b, libs.torch, p)

    hessprobe.gradient()
    alt.scipy_gradient()
    jax.gradient()
    torch.gradient()

    hessprobe.hvp()
    alt.scipy_hvp()
    jax.hvp()
    torch.hvp()
    alt.numdifftools_hvp()

    hessprobe.block()
    alt.scipy_block()
    alt.numpy_block()
    jax.block()
    torch.block()

    hessprobe.fd()
    alt.numpy_fd()

    hessprobe.hutchinson()
    alt.c_reference()
    jax.hutchinson()
    alt.numpy_hutchinson()

    hessprobe.diagonal()
    jax.diagonal()

    # issue 15's ratios of two hessprobe rows, or of hessprobe and NumPy, measured again
    # side by side call by call (targets.py)
    b.phase(f"interleaved pairs, n={fmt_n(n)}")
    for pair in INTERLEAVED:
        b.interleave(n, pair)


def exit_code(b: Bench) -> int:
    """1 when a hessprobe row failed (or, with --strict, an alternative's row); else 0."""
    if b.hp_errors:
        say("\nhessprobe rows that failed:")
        for e in b.hp_errors:
            say(f"  {e}")
        return 1
    if b.strict and b.alt_errors:
        return 1
    return 0
