"""Structured probing: banded and sparse Hessians recovered exactly from coloured HVPs.

References: the analytic tridiagonal Rosenbrock Hessian (references.rosen_hess_tridiag),
the matrix A of a quadratic, and brute-force checks of the colouring in NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from references import rosen_grad_np, rosen_hess_tridiag


class CountingGradient:
    """A gradient callable that counts its calls (central differences: 2 per HVP)."""

    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.fn(x)


def banded_symmetric(n: int, b: int, rng: np.random.Generator) -> np.ndarray:
    A = rng.standard_normal((n, n))
    A = A + A.T
    i, j = np.indices((n, n))
    A[np.abs(i - j) > b] = 0.0
    return A


@pytest.fixture(scope="module")
def rosen_big():
    rng = np.random.default_rng(61)
    x = rng.uniform(-2.0, 2.0, 100_000)
    diag, off = rosen_hess_tridiag(x)
    return x, diag, off


def test_rosenbrock_diag_and_hessian_three_hvps_at_1e5(hp, rosen_big):
    x, diag, off = rosen_big
    f = hp.functions.rosenbrock()
    col = hp.colouring(x.size, bandwidth=1)
    assert col.count == 3  # 2b + 1 HVPs whatever n
    scale = np.abs(diag).max()
    # Dual-number HVPs are exact: the only error is the rounding of the few terms of
    # each entry, so 1e-12 relative to the largest entry has a margin of ~1e3.
    d = hp.hessian_diag(f, x, bandwidth=1)
    np.testing.assert_allclose(d, diag, rtol=0, atol=1e-12 * scale)
    H = hp.hessian(f, x, bandwidth=1)
    assert isinstance(H, scipy.sparse.csr_array)
    assert H.nnz == 3 * x.size - 2
    np.testing.assert_allclose(H.diagonal(), diag, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(H.diagonal(1), off, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(H.diagonal(-1), off, rtol=0, atol=1e-12 * scale)
    # Nothing outside the band is stored.
    coo = H.tocoo()
    assert np.abs(coo.row - coo.col).max() == 1


def test_rosenbrock_callable_three_hvps_at_1e5(hp, rosen_big):
    x, diag, off = rosen_big
    grad = CountingGradient(rosen_grad_np)
    H = hp.hessian(grad, x, bandwidth=1, threads=1)
    assert grad.calls == 6  # 3 HVPs, central differences: 2 gradient calls each
    # Central differences with the unit-column step h = 6.1e-6 (1 + rms(x)) ~ 1.3e-5:
    # truncation (h^2 / 6) * 2400 ~ 7e-8 on the diagonal (d^3 g_i / dx_i^3 = 2400) and
    # rounding ~ eps |g| / h ~ 1e-8; 1e-9 of max|H| ~ 4e3 is 4e-6, a margin of ~50.
    scale = np.abs(diag).max()
    np.testing.assert_allclose(H.diagonal(), diag, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(H.diagonal(1), off, rtol=0, atol=1e-9 * scale)
    grad.calls = 0
    d = hp.hessian_diag(grad, x, bandwidth=1, threads=1)
    assert grad.calls == 4  # the diagonal alone: b + 1 = 2 colours
    np.testing.assert_allclose(d, diag, rtol=0, atol=1e-9 * scale)


@pytest.mark.parametrize("b", [1, 2, 3, 4, 5], ids=[f"b={b}" for b in range(1, 6)])
def test_banded_quadratic_exact(hp, b):
    rng = np.random.default_rng(100 + b)
    n = 57
    A = banded_symmetric(n, b, rng)
    f = hp.functions.quadratic(A)
    x = rng.standard_normal(n)
    H = hp.hessian(f, x, bandwidth=b)
    # H c sums the entries of row i over one colour, and only one of them is in the
    # band: every recovered entry is an exact copy of A's (sums with exact zeros).
    np.testing.assert_array_equal(H.toarray(), A)
    np.testing.assert_array_equal(hp.hessian_diag(f, x, bandwidth=b), np.diag(A))
    assert hp.colouring(n, bandwidth=b).count == 2 * b + 1


@pytest.mark.parametrize("b", [1, 3, 5], ids=[f"b={b}" for b in (1, 3, 5)])
def test_banded_quadratic_callable_within_fd_accuracy(hp, b):
    rng = np.random.default_rng(200 + b)
    n = 57
    A = banded_symmetric(n, b, rng)
    grad = CountingGradient(lambda x: A @ x)
    x = rng.standard_normal(n)
    H = hp.hessian(grad, x, bandwidth=b, threads=1)
    assert grad.calls == 2 * (2 * b + 1)
    # g is linear, so central differences have no truncation error: only rounding,
    # ~eps |A| |x| / h with h ~ 1e-5: ~1e-10 |A|; 1e-8 leaves a factor 100.
    np.testing.assert_allclose(H.toarray(), A, rtol=0, atol=1e-8 * np.abs(A).max())


def _sparse_symmetric(n: int, rng: np.random.Generator) -> scipy.sparse.csr_array:
    """Random symmetric couplings (about 2 per row and column) plus a diagonal."""
    R = scipy.sparse.random(n, n, density=0.02, random_state=np.random.RandomState(5))
    M = scipy.sparse.csr_array(R + R.T)
    return M + scipy.sparse.csr_array(scipy.sparse.diags(rng.uniform(1.0, 2.0, n)))


def test_sparsity_pattern(hp):
    rng = np.random.default_rng(71)
    n = 120
    S = _sparse_symmetric(n, rng)
    A = S.toarray()
    f = hp.functions.quadratic(A)
    x = rng.standard_normal(n)
    col = hp.colouring(n, sparsity=S, method="distance-2")
    # Independent check of the distance-2 colouring: within a colour, no two columns
    # share a row.  (The star colouring used by hessian is checked in test_colouring.)
    P = (A != 0).astype(int)
    for c in range(col.count):
        members = np.nonzero(col.colours == c)[0]
        assert P[:, members].sum(axis=1).max() <= 1
    # Far fewer HVPs than columns (measured: 14 colours for n = 120, ~5.75 nonzeros a row).
    assert col.count < n // 4
    assert hp.colouring(n, sparsity=S).count <= col.count
    H = hp.hessian(f, x, sparsity=S)
    assert isinstance(H, scipy.sparse.csr_array)
    assert H.nnz == S.nnz
    np.testing.assert_array_equal(H.toarray(), A)
    np.testing.assert_array_equal(hp.hessian_diag(f, x, sparsity=S), np.diag(A))
    # The values of the pattern are ignored, only where it is nonzero matters.
    S2 = S.copy()
    S2.data = -7.0 * np.ones_like(S2.data)
    np.testing.assert_array_equal(hp.hessian(f, x, sparsity=S2).toarray(), A)


def test_pattern_is_symmetrised(hp):
    # Only the upper triangle given: the lower one is implied (H is symmetric).
    rng = np.random.default_rng(72)
    n = 30
    A = banded_symmetric(n, 2, rng)
    upper = scipy.sparse.csr_array(np.triu(A))
    H = hp.hessian(hp.functions.quadratic(A), rng.standard_normal(n), sparsity=upper)
    np.testing.assert_array_equal(H.toarray(), A)


def test_default_bandwidth_of_builtins(hp):
    rng = np.random.default_rng(73)
    x = rng.uniform(-2.0, 2.0, 40)
    for f in (hp.functions.rosenbrock(), hp.functions.styblinski_tang()):
        np.testing.assert_array_equal(hp.hessian_diag(f, x), f.hessian_diag(x))
    # A NumPy callable: its tridiagonal pattern detected by one traced call, then the
    # diagonal's 2 colours (2 calls each); with sparsity="dense" every column (n HVPs,
    # 2n calls).
    grad = CountingGradient(rosen_grad_np)
    d = hp.hessian_diag(grad, x, threads=1)
    assert grad.calls == 1 + 2 * 2
    grad.calls = 0
    dense = hp.hessian_diag(grad, x, threads=1, sparsity="dense")
    assert grad.calls == 2 * x.size
    np.testing.assert_allclose(dense, d, rtol=1e-6)
    ref = hp.functions.rosenbrock().hessian_diag(x)
    np.testing.assert_allclose(d, ref, rtol=0, atol=1e-9 * np.abs(ref).max())


def test_bandwidth_wider_than_n(hp):
    A = banded_symmetric(4, 3, np.random.default_rng(74))
    H = hp.hessian(hp.functions.quadratic(A), np.zeros(4), bandwidth=10)
    np.testing.assert_array_equal(H.toarray(), A)
    assert hp.colouring(4, bandwidth=10).count == 4


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"bandwidth": -1}, ValueError, "bandwidth must be >= 0"),
        ({"bandwidth": 1.5}, TypeError, "bandwidth must be an integer"),
        ({"bandwidth": 1, "sparsity": scipy.sparse.eye(5)}, ValueError, "at most one"),
        ({"sparsity": np.eye(5)}, TypeError, "scipy.sparse"),
        ({"sparsity": scipy.sparse.eye(4)}, ValueError, r"shape \(5, 5\)"),
    ],
    ids=["negative", "float", "both", "dense-pattern", "wrong-shape"],
)
def test_bad_structure_arguments(hp, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        hp.hessian(hp.functions.rosenbrock(), np.zeros(5), **kwargs)


# --------------------------------------------------------------------------------------
# Memory: what cannot fit is refused up front; a diagonal never needs n^2 memory
# --------------------------------------------------------------------------------------


def arrow(n: int) -> scipy.sparse.csr_array:
    """x_0 couples to every other x_i: one dense row and column."""
    S = scipy.sparse.lil_array((n, n))
    S[0, :] = 1.0
    return scipy.sparse.csr_array(S)


@pytest.mark.parametrize(
    ("entry", "kwargs", "arg"),
    [
        ("hessian", {"bandwidth": 10**6 - 1}, "bandwidth"),
        ("colouring", {"sparsity": arrow(10**6), "method": "distance-2"}, "sparsity"),
        ("colouring", {"bandwidth": 10**6 - 1}, "bandwidth"),
    ],
    ids=["hessian-band", "colouring-arrow-distance-2", "colouring-band"],
)
def test_structure_that_cannot_fit_is_refused_up_front(hp, entry, kwargs, arg):
    # n = 10^6: a full band holds 10^12 entries (24 TB of indices and values), the arrow
    # pattern's column products (S S) as many; both far beyond any memory here.  (The
    # star colouring of the arrow has 2 colours and O(n) memory: test_colouring.)
    n = 10**6
    calls = CountingGradient(rosen_grad_np)
    with pytest.raises(MemoryError, match=rf"(?=[\s\S]*\b{arg}\b)(?=[\s\S]*available)"):
        if entry == "colouring":
            hp.colouring(n, **kwargs)
        else:
            getattr(hp, entry)(calls, np.ones(n), **kwargs)
    assert calls.calls == 0  # refused before any gradient call


def test_diagonal_without_structure_needs_no_n_squared_memory(hp):
    # No bandwidth known: every column, 64 at a time.  Measured peak: about 220
    # n-vectors, 5.3 MB (the 64 unit probes, their products and the finite-difference
    # scratch of the block); a dense (n, n) array is 72 MB and the index arrays of an
    # n^2 colouring were twice that.
    import tracemalloc

    n = 3000
    x = np.random.default_rng(5).uniform(-2.0, 2.0, n)
    tracemalloc.start()
    try:
        d = hp.hessian_diag(rosen_grad_np, x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.25 * 8 * n * n, peak
    # central differences along unit columns: O(h^2) with h ~ 6e-6 (1 + rms x), so the
    # diagonal is off by 400 h^2 (see hp.hessian) ~ 1e-7 on entries of size ~1e3
    want, _ = rosen_hess_tridiag(x)
    np.testing.assert_allclose(d, want, rtol=0, atol=1e-6 * np.abs(want).max())
