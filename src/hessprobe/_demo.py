"""``python -m hessprobe demo``: exact curvature of Rosenbrock at n = 10^6, timed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .estimators import hutchinson_diag
from .functions import rosenbrock


def _best_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up: page faults, thread pool start
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def run(n: int = 1_000_000, probes: int = 100, repeat: int = 5) -> None:
    """Print timings and errors of hessprobe next to SciPy on the extended Rosenbrock."""
    from scipy.optimize import rosen_der, rosen_hess_prod

    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.5, n)
    v = rng.standard_normal(n)
    block = rng.standard_normal((8, n))
    f = rosenbrock()

    print(f"Extended Rosenbrock, n = {n:,}; best of {repeat} runs\n")
    ref = rosen_hess_prod(x, v)
    hv = f.hvp(x, v)
    rel = float(np.abs(hv - ref).max() / np.abs(ref).max())
    rows = [
        ("scipy.optimize.rosen_der (gradient)", _best_ms(lambda: rosen_der(x), repeat)),
        ("hessprobe f.grad", _best_ms(lambda: f.grad(x), repeat)),
        ("scipy.optimize.rosen_hess_prod (1 HVP)", _best_ms(lambda: rosen_hess_prod(x, v), repeat)),
        ("hessprobe f.hvp (1 exact HVP)", _best_ms(lambda: f.hvp(x, v), repeat)),
        ("hessprobe f.hvp (8 exact HVPs, one pass)", _best_ms(lambda: f.hvp(x, block), repeat)),
        ("hessprobe f.hessian_diag (exact, 2 HVPs)", _best_ms(lambda: f.hessian_diag(x), repeat)),
        (
            f"hessprobe hutchinson_diag ({probes} probes)",
            _best_ms(
                lambda: hutchinson_diag(f, x, hvps=probes, seed=0, structure="none"),
                max(1, repeat // 2),
            ),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, ms in rows:
        print(f"  {name:<{width}}  {ms:9.2f} ms")

    exact = f.hessian_diag(x)
    est = hutchinson_diag(f, x, hvps=probes, seed=0, structure="none")
    z = (est.value - exact) / est.stderr
    print(f"\nexact HVP vs rosen_hess_prod: max relative difference {rel:.1e}")
    print(
        f"Hutchinson diagonal, {probes} probes: median relative error "
        f"{float(np.median(np.abs(est.value - exact) / np.abs(exact))):.3f}; "
        f"(estimate - exact) / stderr has mean {float(z.mean()):+.3f}, std {float(z.std()):.3f}"
    )
