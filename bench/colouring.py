"""Colouring a sparsity pattern (issue 12): star colouring in the core against distance-2.

Printed, per pattern: its size and entries, the time of the core's star colouring on the
CSR arrays (``hessprobe._core.star_colouring``, in each vertex order), its colours, and
the colours and time of the greedy distance-2 colouring (the core's, and the Python one
that ``sparsity=`` used before, ``hp.colouring(method="distance-2")``, where it is not
too slow), every time the minimum of a few runs after a warm-up:

* banded patterns of n = 10^7 columns (half-bandwidth 1 and 2): the CSR arrays are made
  with NumPy, int32, and coloured where they lie (target: a few seconds);
* end to end on a tridiagonal scipy.sparse pattern S of the same n (checked, given its
  diagonal in Python, then coloured): ``hp.colouring``, ``hp.hessian_diag`` and
  ``hp.hessian`` of the Rosenbrock built-in with ``sparsity=S``, next to
  ``hp.hessian_diag(bandwidth=1)``;
* a 2-D 5-point grid, a 3-D 7-point grid and an arrowhead (x_0 coupled to all), where
  star colouring needs far fewer colours than distance-2.

Usage: python bench/colouring.py [--n 1e7] [--repeats 3] [--quick]
(about a minute on 2 cores; ``--quick``: n = 10^5, smaller grids, one run: seconds).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse

import hessprobe as hp
from hessprobe import _core
from hessprobe.sparsity import normalized_pattern

ORDERS = ("natural", "largest-first", "smallest-last")


def best(call: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Minimum wall time of `repeats` calls after one warm-up call, and the last result."""
    out = call()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - t)
    return min(times), out


def band_csr(n: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, indices), int32, of the n x n band of half-width b (diagonal included)."""
    offsets = np.arange(-b, b + 1, dtype=np.int32)
    cols = np.arange(n, dtype=np.int32)[:, None] + offsets
    valid = (cols >= 0) & (cols < n)
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(valid.sum(axis=1), out=indptr[1:])
    return indptr, cols[valid]


def grid(m: int, dims: int) -> scipy.sparse.csr_array:
    """The pattern of the m^dims grid's (2 dims + 1)-point stencil."""
    T = scipy.sparse.diags([np.ones(m - 1), np.ones(m), np.ones(m - 1)], [-1, 0, 1])
    eye = scipy.sparse.identity(m)
    S: Any = None
    for d in range(dims):
        term: Any = T if d == 0 else eye
        for e in range(1, dims):
            term = scipy.sparse.kron(term, T if e == d else eye)
        S = term if S is None else S + term
    return scipy.sparse.csr_array(S != 0, dtype=np.float64)


def arrow(n: int) -> scipy.sparse.csr_array:
    rows = np.zeros(n, dtype=np.intp)
    return scipy.sparse.csr_array((np.ones(n), (rows, np.arange(n))), shape=(n, n))


def line(name: str, n: int, nnz: int, cells: list[str]) -> None:
    print(f"| {name:<24} | {n:>10,} | {nnz:>11,} | " + " | ".join(cells) + " |")


def star_cells(indptr: np.ndarray, indices: np.ndarray, repeats: int) -> list[str]:
    cells = []
    for order in ORDERS:
        t, (_, _, count) = best(lambda o=order: _core.star_colouring(indptr, indices, o), repeats)
        cells.append(f"{count:>3} in {t:7.3f} s")
    return cells


def end_to_end(n: int) -> None:
    """Time hp.colouring / hessian_diag / hessian on a tridiagonal pattern, one run each."""
    S = scipy.sparse.csr_array(scipy.sparse.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n)))
    f = hp.functions.rosenbrock()
    x = np.linspace(-1.0, 1.5, n)
    print()
    for name, call in [
        ("hp.colouring(n, sparsity=S)", lambda: hp.colouring(n, sparsity=S).count),
        ("hp.hessian_diag(f, x, sparsity=S)", lambda: hp.hessian_diag(f, x, sparsity=S)),
        ("hp.hessian_diag(f, x, bandwidth=1)", lambda: hp.hessian_diag(f, x, bandwidth=1)),
        ("hp.hessian(f, x, sparsity=S)", lambda: hp.hessian(f, x, sparsity=S)),
    ]:
        t, _ = best(call, 1)
        print(f"{name:<36} n = {n:,}, S tridiagonal, f Rosenbrock: {t:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e7, help="columns of the banded patterns")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="n = 10^5, small grids, one run")
    args = parser.parse_args()
    n = 10**5 if args.quick else int(args.n)
    repeats = 1 if args.quick else args.repeats

    head = " | ".join(f"star {o:<13}" for o in ORDERS)
    title = f"| {'pattern':<24} | {'n':>10} | {'entries':>11} | {head}"
    print(f"{title} | distance-2 (core / Python) |")
    print("|" + "---|" * 7)
    for b in (1, 2):
        ptr, ind = band_csr(n, b)
        cells = star_cells(ptr, ind, repeats)
        t2, (_, _, c2) = best(lambda p=ptr, i=ind: _core.distance2_colouring(p, i), repeats)
        cells.append(f"{c2:>3} in {t2:7.3f} s / -")
        line(f"band b={b}", n, ind.size, cells)
        del ptr, ind

    end_to_end(n)

    print()
    m2, m3 = (60, 15) if args.quick else (300, 40)
    cases = [
        (f"grid 5-point {m2}x{m2}", grid(m2, 2)),
        (f"grid 7-point {m3}^3", grid(m3, 3)),
        ("arrowhead", arrow(min(n, 10**6))),
    ]
    for name, pattern in cases:
        P = normalized_pattern(pattern, pattern.shape[0])
        cells = star_cells(P.indptr, P.indices, repeats)
        if name == "arrowhead":
            cells.append(f"n = {P.shape[0]:,} (one column per colour)")
        else:
            k = P.shape[0]
            t2, (_, _, c2) = best(
                lambda P=P: _core.distance2_colouring(P.indptr, P.indices), repeats
            )
            tp, colp = best(lambda P=P, k=k: hp.colouring(k, sparsity=P, method="distance-2"), 1)
            cells.append(f"{c2:>3} in {t2:7.3f} s / {colp.count} in {tp:.2f} s")
        line(name, P.shape[0], P.nnz, cells)


if __name__ == "__main__":
    main()
