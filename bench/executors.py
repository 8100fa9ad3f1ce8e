"""Probing on executors (issue 14): an expensive gradient's probes per second, the cost per block.

Two measurements, each against the local run it must equal bitwise (checked here too):

* an expensive Python gradient, about 50 ms a call (central differences: 2 calls a
  probe), in one process (threads=1 and threads=2) and on a 2-worker Dask LocalCluster
  (processes, 1 thread each).  Two gradients: ``sleep``, 50 ms of time.sleep then
  rosen_der (a gradient whose cost is elsewhere: a simulator, a GPU, a remote service;
  it releases the GIL, so the local threads=2 run overlaps its calls too), and
  ``numpy``, about 50 ms of NumPy matrix products (compute on this machine's cores);
* the overhead per block for a cheap source (the Rosenbrock built-in, n = 1000: a block
  of 8 probes costs about 30 us locally): shares of one block each on a process pool, a
  thread pool and the Dask cluster, (time - local time) / blocks.

Usage: python bench/executors.py [--probes 32] [--out bench/results_executors]
(about a minute; needs dask[distributed], the ``distributed`` extra).  The results go
to DIR/executors.md and are printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np
from scipy.optimize import rosen_der

import hessprobe as hp

N = 1000
CALL_SECONDS = 0.05


class SleepGradient:
    """rosen_der after CALL_SECONDS of sleep (picklable: a module-level class)."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        time.sleep(CALL_SECONDS)
        return rosen_der(x)


class NumpyGradient:
    """rosen_der after `repeats` passes of np.sin over 10^5 values (about CALL_SECONDS).

    Elementwise NumPy runs on one thread (no BLAS threads), as a compute-bound gradient
    of one core would.
    """

    def __init__(self, repeats: int) -> None:
        self.repeats = repeats
        self.a = np.random.default_rng(0).standard_normal(100_000)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        b = self.a
        for _ in range(self.repeats):
            b = np.sin(b)
        return rosen_der(x) + 0.0 * float(b[0])


def calibrated_numpy_gradient() -> NumpyGradient:
    """A NumpyGradient whose calls take about CALL_SECONDS here (one thread)."""
    probe = NumpyGradient(20)
    x = np.zeros(N)
    probe(x)
    start = time.perf_counter()
    probe(x)
    per = (time.perf_counter() - start) / 20
    return NumpyGradient(max(1, round(CALL_SECONDS / per)))


def seconds(call: Callable[[], Any], repeats: int = 1) -> tuple[float, Any]:
    """Best wall time of `repeats` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = call()
        best = min(best, time.perf_counter() - start)
    return best, out


def check_same(a: hp.Estimate[Any], b: hp.Estimate[Any], what: str) -> str:
    same = np.array_equal(a.value, b.value) and np.array_equal(a.stderr, b.stderr)
    if not same:
        raise SystemExit(f"{what}: not bitwise the local result")
    return "yes"


def expensive(client: Any, probes: int) -> list[str]:
    lines = [
        f"### Expensive gradient (about {1000 * CALL_SECONDS:.0f} ms a call, 2 calls a probe), "
        f"hutchinson_diag, n = {N}, {probes} probes",
        "",
        "| gradient | where | time | probes/s | vs one process, threads=1 | bitwise |",
        "|---|---|---|---|---|---|",
    ]
    x = np.linspace(-1.2, 1.1, N)
    for name, grad in (("sleep", SleepGradient()), ("numpy", calibrated_numpy_gradient())):
        one, ref = seconds(lambda g=grad: hp.hutchinson_diag(g, x, probes, threads=1))
        rows: list[tuple[str, float, str]] = [("one process, threads=1", one, "-")]
        t2, est = seconds(lambda g=grad: hp.hutchinson_diag(g, x, probes, threads=2))
        rows.append(("one process, threads=2", t2, check_same(est, ref, name)))
        ex = client.get_executor()
        tc, est = seconds(lambda g=grad, e=ex: hp.hutchinson_diag(g, x, probes, executor=e))
        rows.append(("Dask LocalCluster, 2 workers x 1 thread", tc, check_same(est, ref, name)))
        for where, t, same in rows:
            lines.append(
                f"| {name} | {where} | {t:.2f} s | {probes / t:.1f} | {one / t:.2f}x | {same} |"
            )
    return lines


def overhead(client: Any, blocks: int) -> list[str]:
    f, x = hp.functions.rosenbrock(), np.linspace(-1.2, 1.1, N)
    probes = 8 * blocks
    # structure="none": probe the built-in's tridiagonal Hessian rather than colour it
    local, ref = seconds(lambda: hp.hutchinson_diag(f, x, probes, threads=1, structure="none"), 5)
    lines = [
        f"### Overhead per block (cheap source: Rosenbrock built-in, n = {N}, {blocks} blocks "
        "of 8 probes, one block a share)",
        "",
        f"Local run, threads=1: {1e3 * local:.2f} ms ({1e6 * local / blocks:.0f} us a block).",
        "",
        "| executor | time | overhead per block | bitwise |",
        "|---|---|---|---|",
    ]
    saved = hp.distributed.SHARES_PER_WORKER
    hp.distributed.SHARES_PER_WORKER = blocks  # one block a share
    try:
        with ProcessPoolExecutor(2) as pp, ThreadPoolExecutor(2) as tp:
            pools: list[tuple[str, Executor]] = [
                ("ProcessPoolExecutor(2)", pp),
                ("ThreadPoolExecutor(2)", tp),
                ("Dask LocalCluster, 2 workers", client.get_executor()),
            ]
            for name, pool in pools:
                # warm: workers, imports
                hp.hutchinson_diag(f, x, probes, executor=pool, structure="none")
                t, est = seconds(
                    lambda p=pool: hp.hutchinson_diag(f, x, probes, executor=p, structure="none"),
                    3,
                )
                per = (t - local) / blocks
                lines.append(
                    f"| {name} | {1e3 * t:.1f} ms | {1e3 * per:.2f} ms | "
                    f"{check_same(est, ref, name)} |"
                )
    finally:
        hp.distributed.SHARES_PER_WORKER = saved
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--probes", type=int, default=32, help="probes of the expensive runs")
    ap.add_argument("--blocks", type=int, default=64, help="blocks of the overhead runs")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results_executors"))
    args = ap.parse_args()
    try:
        import distributed
    except ImportError as err:
        raise SystemExit(
            "bench/executors.py needs dask[distributed]: pip install '.[distributed]'"
        ) from err
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with cluster, distributed.Client(cluster) as client:
        hp.hutchinson_trace(rosen_der, np.zeros(N), 8, executor=client.get_executor())  # warm
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        cpu = platform.processor() or platform.machine()
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
        lines = [
            "# hessprobe on executors (bench/executors.py)",
            "",
            f"Command: `python bench/executors.py` · {stamp} · {cpu}, "
            f"{os.cpu_count()} logical CPUs · load average {load} · Dask {distributed.__version__}",
            "",
            *expensive(client, args.probes),
            "",
            *overhead(client, args.blocks),
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "executors.md"), "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
