"""The bench's core: timing, the table of rows, notes, optional imports and number formatting.

Knows nothing about what is measured: the row modules call ``Bench.add`` (or an ``adder``) with
a task, a method and a function to time, and read earlier rows back with ``find`` and ``t``.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import statistics
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

perf = time.perf_counter


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def say(*a: Any) -> None:
    print(*a, flush=True)


def relerr(a: Any, ref: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    den = float(np.linalg.norm(ref))
    return float(np.linalg.norm(a - ref) / (den if den > 0 else 1.0))


def fmt_t(t: float | None) -> str:
    if t is None or not math.isfinite(t):
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1.0:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def fmt_x(r: float | None) -> str:
    if r is None or not math.isfinite(r):
        return "-"
    return f"{r:.3g}x" if r < 100 else f"{r:.0f}x"


def fmt_e(e: float | None) -> str:
    if e is None or not math.isfinite(e):
        return "-"
    return f"{e:.1e}"


def fmt_n(n: int) -> str:
    return f"{n:,}"


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


def md_row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0


class TimedGrad:
    """Wraps a Python gradient; records the wall-clock interval of every call.

    The time "inside the user's gradient" is the length of the union of the intervals, so
    calls that overlap (hessprobe threads > 1 while NumPy has released the GIL) count once.
    """

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        self.fn = fn
        self.intervals: list[tuple[float, float]] = []

    def reset(self) -> None:
        self.intervals = []

    @property
    def calls(self) -> int:
        return len(self.intervals)

    @property
    def inside(self) -> float:
        total, end = 0.0, -math.inf
        for a, b in sorted(self.intervals):
            if a > end:
                total += b - a
                end = b
            elif b > end:
                total += b - end
                end = b
        return total

    def __call__(self, x: np.ndarray) -> np.ndarray:
        t0 = perf()
        try:
            return self.fn(x)
        finally:
            self.intervals.append((t0, perf()))  # list.append is atomic under the GIL


# --------------------------------------------------------------------------------------------
# the run's state: settings, rows, notes, errors and what the other modules measure
# --------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.quick: bool = args.quick
        self.strict: bool = args.strict
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.sizes = [100, 1000] if self.quick else [100, 10_000, 1_000_000]
        if args.sizes:
            self.sizes = sorted(int(float(t)) for t in args.sizes.split(","))
        self.ncores = os.cpu_count() or 1
        self.threads_all = self.ncores  # "all cores"; this machine's targets compare 2 with 1
        self.rows: list[dict[str, Any]] = []
        self.last_faults: float | None = None
        self.notes: list[str] = []
        self.hp_errors: list[str] = []
        self.alt_errors: list[str] = []
        self.machine: dict[str, Any] = {}
        self.bounds: list[dict[str, Any]] = []
        self.memory: list[dict[str, Any]] = []
        self.targets: list[dict[str, Any]] = []
        self.errcurve: dict[str, Any] = {}
        self.fns: dict[tuple[int, str], Callable[[], Any]] = {}  # each timed row's callable
        self.interleaved: dict[tuple[int, str], float] = {}  # (n, key): median, interleaved
        self.t_start = perf()
        # timing policy
        if self.quick:
            self.budget, self.min_rep, self.max_rep, self.max_single = 0.03, 2, 5, 0.25
        else:
            self.budget, self.min_rep, self.max_rep, self.max_single = 1.0, 5, 25, 2.5

    # ---------------------------------------------------------------- notes / imports
    def elapsed(self) -> str:
        return f"[{perf() - self.t_start:.1f} s]"

    def phase(self, what: str) -> None:
        say(f"\n== {what} ==   {self.elapsed()}")

    def note(self, msg: str) -> None:
        say(f"  note: {msg}")
        self.notes.append(msg)

    def optional(self, name: str, what: str = "its rows are skipped") -> Any:
        try:
            return importlib.import_module(name)
        except Exception as e:  # ImportError, or a broken install
            self.note(f"{name} not available ({type(e).__name__}: {e}); {what}")
            return None

    # ---------------------------------------------------------------- timing
    def timeit(
        self, fn: Callable[[], Any], cold_ok: bool = False
    ) -> tuple[float, list[float], Any]:
        """(first call, per-call samples, last result).  Warm-up first; median of repeats.

        Calls under 1 ms are batched so that each sample lasts about 1 ms.  A call longer
        than max_single gets one warm sample after its warm-up (the first call of a jitted
        XLA executable at n = 10^6 page-faults its buffers in: 2.7 s against 0.95 s warm for
        the JAX scan); with cold_ok (no caches to warm: numdifftools) the warm-up is the sample.
        """
        t0 = perf()
        res = fn()
        first = perf() - t0
        if first > self.max_single:
            if cold_ok:
                return first, [first], res
            f0 = minor_faults()
            t0 = perf()
            res = fn()
            t1 = perf() - t0
            if resource:
                self.last_faults = minor_faults() - f0
            return first, [t1], res
        est = first
        if first < 0.2:  # a second warm-up call for cheap functions (caches, page faults)
            t0 = perf()
            res = fn()
            est = min(first, perf() - t0)
        inner = 1
        if est < 1e-3:
            inner = int(min(1000, max(1, 1e-3 / max(est, 1e-7))))
        min_rep = self.min_rep if est < 0.2 else min(self.min_rep, 3)
        reps = int(min(self.max_rep, max(min_rep, self.budget / max(est * inner, 1e-9))))
        samples = []
        f0 = minor_faults()
        for _ in range(reps):
            t0 = perf()
            for _ in range(inner):
                res = fn()
            samples.append((perf() - t0) / inner)
        if resource:
            self.last_faults = (minor_faults() - f0) / (reps * inner)
        return first, samples, res

    # ---------------------------------------------------------------- the rows
    def add(
        self,
        task: str,
        method: str,
        n: int,
        fn: Callable[[], Any] | None,
        *,
        lib: str,
        err: Callable[[Any], float] | None = None,
        baseline: bool = False,
        compile_fn: Callable[[], Any] | None = None,
        note: str = "",
        key: str = "",
        after: Callable[[dict[str, Any]], None] | None = None,
        timer: Callable[[], tuple[float, list[float], Any]] | None = None,
        cold_ok: bool = False,
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "task": task,
            "method": method,
            "lib": lib,
            "n": n,
            "baseline": baseline,
            "note": note,
            "key": key or method,
            "median": None,
            "first": None,
            "samples": [],
            "compile": None,
            "err": None,
            "status": "ok",
        }
        self.last_faults = None
        try:
            if compile_fn is not None:
                t0 = perf()
                fn = compile_fn()
                row["compile"] = perf() - t0
            if timer is not None:
                first, samples, res = timer()
            else:
                assert fn is not None
                first, samples, res = self.timeit(fn, cold_ok=cold_ok)
            row["first"], row["samples"] = first, samples
            if fn is not None and timer is None:
                self.fns[(n, row["key"])] = fn
            row["page_faults_per_call"] = self.last_faults
            row["median"] = statistics.median(samples)
            if err is not None:
                row["err"] = err(res)
            if after is not None:
                after(row)
        except Exception as e:  # report, keep going
            msg = f"{type(e).__name__}: {e}".splitlines()[0][:200]
            row["status"] = "error: " + msg
            say(f"  ERROR in {lib} / {method} (n={n}): {msg}")
            if os.environ.get("HESSPROBE_BENCH_TRACEBACK"):
                traceback.print_exc()
            (self.hp_errors if lib == "hessprobe" else self.alt_errors).append(
                f"{task} / {method} (n={n}): {msg}"
            )
        self.rows.append(row)
        if row["status"] == "ok":
            extra = f"  compile {fmt_t(row['compile'])}" if row["compile"] is not None else ""
            if row.get("page_faults_per_call") is not None:
                extra += f"  faults/call {row['page_faults_per_call']:.0f}"
            say(
                f"  {task[:28]:<28} {method[:58]:<58} {fmt_t(row['median']):>10}"
                f"  err {fmt_e(row['err']):>8}{extra}  {self.elapsed()}"
            )
        return row

    def adder(self, task: str, n: int, lib: str) -> Callable[..., dict[str, Any]]:
        """``add`` with task, size and library fixed: ``adder(method, key, fn, **kw)``."""

        def add_row(
            method: str, key: str, fn: Callable[[], Any] | None, **kw: Any
        ) -> dict[str, Any]:
            return self.add(task, method, n, fn, lib=lib, key=key, **kw)

        return add_row

    def interleave(self, n: int, keys: tuple[str, ...], rounds: int = 25) -> None:
        """Times the rows ``keys`` again, call by call in turn (the order reversed every
        round), so that the machine's drift (other tenants' memory traffic, here) falls on
        every side of a ratio alike; :meth:`t_paired` then gives these medians."""
        fns = [(k, fn) for k in keys if (fn := self.fns.get((n, k))) and self.find(n, k)]
        if len(fns) < 2:  # rows that did not run (an absent library) are left out
            return
        samples: dict[str, list[float]] = {k: [] for k, _ in fns}
        for r in range(rounds):
            for k, fn in fns if r % 2 == 0 else fns[::-1]:
                t0 = perf()
                fn()
                samples[k].append(perf() - t0)
        for k, times in samples.items():
            self.interleaved[(n, k)] = statistics.median(times)

    def t_paired(self, n: int, key: str) -> float | None:
        """The interleaved median of row ``key`` when measured so, else the row's own."""
        return self.interleaved.get((n, key), self.t(n, key))

    def find(self, n: int, key: str) -> dict[str, Any] | None:
        for r in self.rows:
            if r["n"] == n and r["key"] == key and r["status"] == "ok":
                return r
        return None

    def t(self, n: int, key: str) -> float | None:
        r = self.find(n, key)
        return None if r is None else r["median"]

    def tasks(self) -> list[str]:
        """The tasks in the order of their first row."""
        return list(dict.fromkeys(r["task"] for r in self.rows))
