"""What is measured: the extended Rosenbrock function at one size, its exact references in NumPy,
the error measures, and the names of the tasks (the row groups of the side-by-side table)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from harness import relerr
from scipy.optimize import rosen_der, rosen_hess, rosen_hess_prod

PROBES = 100  # Hutchinson probes in the side-by-side rows (the issues' setting)
NBLOCK = 8  # directions in the "block of HVPs" rows

TASK_GRAD = "gradient"
TASK_HVP = "HVP, 1 direction"
TASK_BLOCK = f"HVP, block of {NBLOCK}"
TASK_FD = "HVP from a gradient callback (FD)"
TASK_HUTCH = f"Hutchinson diag, {PROBES} probes"
TASK_DIAG = "exact diagonal, no structure given"


def rosen_terms(z: Any) -> Any:
    """The terms of the extended Rosenbrock sum, for any array type (NumPy, JAX, PyTorch)."""
    return 100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2


def rosen_diag(x: np.ndarray) -> np.ndarray:
    """Exact diagonal of the extended Rosenbrock Hessian (scipy.optimize.rosen)."""
    d = np.empty_like(x)
    d[0] = 1200.0 * x[0] ** 2 - 400.0 * x[1] + 2.0
    d[1:-1] = 202.0 + 1200.0 * x[1:-1] ** 2 - 400.0 * x[2:]
    d[-1] = 200.0
    return d


def rosen_hvp_rows(x: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Hand-vectorised NumPy HVP of Rosenbrock on an (m, n) block of directions."""
    H = np.empty_like(V)
    H[:, 0] = (1200.0 * x[0] ** 2 - 400.0 * x[1] + 2.0) * V[:, 0] - 400.0 * x[0] * V[:, 1]
    H[:, 1:-1] = (
        -400.0 * x[:-2] * V[:, :-2]
        + (202.0 + 1200.0 * x[1:-1] ** 2 - 400.0 * x[2:]) * V[:, 1:-1]
        - 400.0 * x[1:-1] * V[:, 2:]
    )
    H[:, -1] = -400.0 * x[-2] * V[:, -2] + 200.0 * V[:, -1]
    return H


def rosen_der_rows(X: np.ndarray) -> np.ndarray:
    """rosen_der applied to each row of a (k, n) block (for hp.Gradient(vectorized=True))."""
    G = np.empty_like(X)
    xm, xl, xr = X[:, 1:-1], X[:, :-2], X[:, 2:]
    G[:, 1:-1] = 200.0 * (xm - xl**2) - 400.0 * (xr - xm**2) * xm - 2.0 * (1.0 - xm)
    G[:, 0] = -400.0 * X[:, 0] * (X[:, 1] - X[:, 0] ** 2) - 2.0 * (1.0 - X[:, 0])
    G[:, -1] = 200.0 * (X[:, -1] - X[:, -2] ** 2)
    return G


def rademacher(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    return rng.integers(0, 2, size=(m, n), dtype=np.int8).astype(np.float64) * 2.0 - 1.0


class Problem:
    """Rosenbrock at one size n: the point x, the directions v and V8, the exact references.

    The ``e_*`` methods are the relative 2-norm errors of a result against them.
    """

    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(20260 + n)
        self.n = n
        self.x = x = rng.uniform(-2.0, 2.0, n)
        self.v = rng.standard_normal(n)
        self.V8 = rng.standard_normal((NBLOCK, n))
        self.g_ref = rosen_der(x)
        self.hv_ref = rosen_hess_prod(x, self.v)
        self.blk_ref = np.stack([rosen_hess_prod(x, r) for r in self.V8])
        self.d_ref = rosen_diag(x)
        if n <= 1000:
            assert np.allclose(np.diag(rosen_hess(x)), self.d_ref, rtol=1e-13, atol=0)

    @functools.cached_property
    def probes(self) -> np.ndarray:
        """(PROBES, n) Rademacher probes drawn before timing (the JAX and NumPy Hutchinson rows)."""
        return rademacher(np.random.default_rng(1), PROBES, self.n)

    def e_g(self, r: Any) -> float:
        return relerr(r, self.g_ref)

    def e_hv(self, r: Any) -> float:
        return relerr(r, self.hv_ref)

    def e_blk(self, r: Any) -> float:
        r = np.asarray(r)
        return max(relerr(r[k], self.blk_ref[k]) for k in range(NBLOCK))

    def e_d(self, r: Any) -> float:
        return relerr(getattr(r, "value", r), self.d_ref)
