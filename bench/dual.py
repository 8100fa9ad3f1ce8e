"""Dual numbers through a user's NumPy gradient (issue 11): SciPy's ``rosen_der``, unmodified.

Side by side in one process, at each n (default 10^5 and 10^6), every time the minimum
of several runs after a warm-up:

* ``rosen_der(x)``: the plain gradient call, the unit of every ratio;
* one call of ``rosen_der`` on a dual array of 8 lanes (what one pass of the dual
  scheme costs; target: within 12 plain calls, since it carries 9x the numbers);
* ``hp.hvp(hp.Gradient(rosen_der, scheme="dual"), x, V)`` for 8 directions, per HVP in
  plain calls (target <= 1.5), next to central differences (2 calls per HVP);
* 100-probe ``hp.hutchinson_diag`` through the dual scheme and through central
  differences of the same gradient (target: dual faster), with their errors against the
  exact diagonal;
* JAX ``jit(vmap(jvp(grad(f))))`` on the same 8 directions, with the code rewritten in
  jax.numpy, when JAX imports; ``dualpy`` / ``fastdual`` when they import.

Usage: python bench/dual.py [--sizes 1e5,1e6] [--repeats 7] [--out bench/results_dual]
(about a minute).  The table goes to DIR/dual.md and is printed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import rosen_der, rosen_hess_prod

import hessprobe as hp
from hessprobe import _dual


def best(call: Callable[[], Any], repeats: int) -> float:
    """Minimum wall time of `repeats` calls after one warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def exact_diagonal(x: np.ndarray) -> np.ndarray:
    d = np.zeros_like(x)
    d[:-1] = 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    return d


def relative(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def jax_row(x: np.ndarray, V: np.ndarray, repeats: int) -> tuple[float, float] | None:
    try:
        jax = importlib.import_module("jax")
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def f(z: Any) -> Any:
        return jnp.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2)

    hvps = jax.jit(jax.vmap(lambda v: jax.jvp(jax.grad(f), (jnp.asarray(x),), (v,))[1]))
    Vj = jnp.asarray(V)
    seconds = best(lambda: hvps(Vj).block_until_ready(), repeats)
    return seconds, relative(np.asarray(hvps(Vj)), np.stack([rosen_hess_prod(x, v) for v in V]))


def measure(n: int, repeats: int) -> list[str]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, n)
    V = rng.standard_normal((8, n))
    dual = hp.Gradient(rosen_der, scheme="dual")
    X = _dual.seed(x, V, 8)[0]

    def one_dual_call() -> None:
        token = _dual.reuse_begin()  # as the dual scheme calls it
        try:
            rosen_der(X)
        finally:
            _dual.reuse_end(token)

    t_plain = best(lambda: rosen_der(x), repeats)
    t_call = best(one_dual_call, repeats)
    _dual.release_cache()
    t_dual = best(lambda: hp.hvp(dual, x, V), repeats)
    t_fd = best(lambda: hp.hvp(rosen_der, x, V), repeats)
    want = np.stack([rosen_hess_prod(x, v) for v in V])
    e_dual, e_fd = relative(hp.hvp(dual, x, V), want), relative(hp.hvp(rosen_der, x, V), want)
    d_exact = exact_diagonal(x)
    h_dual = relative(hp.hutchinson_diag(dual, x, 100, seed=0).value, d_exact)
    h_fd = relative(hp.hutchinson_diag(rosen_der, x, 100, seed=0).value, d_exact)
    hutchinson = {}
    for threads in (1, 2):
        for name, source in (("dual", dual), ("fd", rosen_der)):
            hutchinson[name, threads] = best(
                lambda s=source, t=threads: hp.hutchinson_diag(s, x, 100, seed=0, threads=t),
                max(1, repeats // 3),
            )

    ms = 1e3
    rows = [
        f"| {n:.0e} | `rosen_der(x)` | {t_plain * ms:.2f} ms | 1 call | | |",
        f"| {n:.0e} | one call on 8 dual lanes | {t_call * ms:.2f} ms | "
        f"{t_call / t_plain:.1f} calls | <= 12 | {verdict(t_call / t_plain <= 12)} |",
        f"| {n:.0e} | `hp.hvp` dual, 8 directions | {t_dual * ms:.2f} ms | "
        f"{t_dual / 8 / t_plain:.2f} calls per HVP (error {e_dual:.0e}) | <= 1.5 | "
        f"{verdict(t_dual / 8 / t_plain <= 1.5)} |",
        f"| {n:.0e} | `hp.hvp` central FD, 8 directions | {t_fd * ms:.2f} ms | "
        f"{t_fd / 8 / t_plain:.2f} calls per HVP (error {e_fd:.0e}) | | |",
    ]
    for threads in (1, 2):
        t_hd, t_hf = hutchinson["dual", threads], hutchinson["fd", threads]
        rows += [
            f"| {n:.0e} | Hutchinson 100 probes, dual, threads={threads} | {t_hd * ms:.1f} ms | "
            f"{t_hf / t_hd:.2f}x faster than central FD (error {h_dual:.3f}) | > 1 | "
            f"{verdict(t_hd < t_hf)} |",
            f"| {n:.0e} | Hutchinson 100 probes, central FD, threads={threads} | "
            f"{t_hf * ms:.1f} ms | (error {h_fd:.3f}) | | |",
        ]
    jax = jax_row(x, V, repeats)
    if jax is None:
        rows.append(f"| {n:.0e} | JAX `jit(vmap(jvp(grad)))`, 8 directions | not installed | | | |")
    else:
        rows.append(
            f"| {n:.0e} | JAX `jit(vmap(jvp(grad)))`, 8 directions (jax.numpy rewrite) | "
            f"{jax[0] * ms:.2f} ms | {t_dual / jax[0]:.2f}x hessprobe's dual time (error "
            f"{jax[1]:.0e}) | | |"
        )
    for name in ("dualpy", "fastdual"):
        try:
            importlib.import_module(name)
        except ImportError:
            rows.append(f"| {n:.0e} | `{name}` | not installed | | | |")
        else:  # no common API to call: report that it is there but not measured
            rows.append(
                f"| {n:.0e} | `{name}` | installed, not measured (no NumPy-array API) | | | |"
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e5,1e6", help="comma-separated n")
    ap.add_argument(
        "--repeats", type=int, default=7, help="timed runs per row (the minimum counts)"
    )
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results_dual"))
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    header = [
        f"Command: `python bench/dual.py --sizes {args.sizes}` · "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {platform.machine()}, "
        f"{os.cpu_count()} logical CPUs · load average {load} · NumPy {np.__version__}",
        "",
        "| n | what | time | ratio | target | |",
        "|---|---|---|---|---|---|",
    ]
    rows = [row for n in sizes for row in measure(n, args.repeats)]
    text = "\n".join(header + rows) + "\n"
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "dual.md"), "w") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
