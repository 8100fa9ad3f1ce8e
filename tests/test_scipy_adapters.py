"""Issue 4: hp.hessp for scipy.optimize.minimize, and hp.HessianOperator for scipy.sparse.linalg.

References: scipy.optimize.rosen_hess_prod / rosen_hess, a NumPy tridiagonal product
(references.rosen_hess_tridiag), numpy.linalg of the dense Hessian.
"""

from __future__ import annotations

import numpy as np
import pytest
import references
import scipy.optimize
from numpy.testing import assert_allclose, assert_array_equal
from references import rosen_grad_np, rosen_grad_rows, rosen_hess_tridiag
from scipy.linalg import eigvalsh_tridiagonal
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess_prod
from scipy.sparse.linalg import cg, eigsh, minres

N_MINIMIZE = 1000
X0 = np.tile([-1.2, 1.0], N_MINIMIZE // 2)


@pytest.fixture(scope="module")
def rosen_lambda_min() -> float:
    """Smallest eigenvalue of the Rosenbrock Hessian at the minimizer x* = 1 (n = 1000)."""
    d, b = rosen_hess_tridiag(np.ones(N_MINIMIZE))
    return float(eigvalsh_tridiagonal(d, b)[0])  # 0.4988


# --------------------------------------------------------------------------------------
# minimize(hessp=hp.hessp(...)) against minimize(hessp=rosen_hess_prod)
# --------------------------------------------------------------------------------------


#: Newton-CG stops on the step size (xtol, default 1e-5) well short of the minimizer
#: (|g| ~ 0.25 here); 1e-8 lets it get there (measured: |g| 8.5e-10).
MINIMIZE_OPTIONS = {"trust-ncg": {}, "trust-krylov": {}, "Newton-CG": {"xtol": 1e-8}}


@pytest.mark.parametrize("method", list(MINIMIZE_OPTIONS))
def test_minimize_with_hessp_reaches_the_minimizer(hp, method, rosen_lambda_min):
    # threads=1: thousands of tiny products; the result does not depend on the thread
    # count (test_functions), and a 1-thread run is not slowed by a busy machine.
    res = minimize(
        rosen,
        X0,
        jac=rosen_der,
        method=method,
        hessp=hp.hessp(hp.functions.rosenbrock(), threads=1),
        options=MINIMIZE_OPTIONS[method],
    )
    # Not the iteration count: over thousands of steps it depends on the last bits of
    # every product (an equally exact NumPy product, or NumPy's AVX-512 kernels under
    # rosen_hess_prod, move it by 2%).  What is specified: success at the minimizer.
    assert res.success, res.message
    # Near x* = 1, x - x* ~ H^-1 g, so |x - x*| <= |g| / lambda_min, doubled for the
    # non-quadratic remainder.
    g = np.linalg.norm(rosen_der(res.x))
    assert np.linalg.norm(res.x - 1.0) <= 2.0 * g / rosen_lambda_min + 1e-12, g
    assert_allclose(res.x, 1.0, atol=1e-3)


def test_hessp_equals_rosen_hess_prod_along_an_optimizer_path(hp):
    # The points where minimize asks for products: the iterates of a trust-ncg run.
    path: list[np.ndarray] = []
    minimize(
        rosen,
        X0,
        jac=rosen_der,
        method="trust-ncg",
        hessp=rosen_hess_prod,
        callback=lambda xk: path.append(np.array(xk)),
        options={"maxiter": 400},
    )
    hessp = hp.hessp(hp.functions.rosenbrock(), threads=1)
    rng = np.random.default_rng(7)
    for x in path[:: max(1, len(path) // 100)]:
        p = rng.standard_normal(x.size)
        # exact products in another operation order: a few ulps of the terms' size
        scale = references.rosen_abs_matvec_scale(x, p)
        atol = 64 * references.EPS * scale
        assert_allclose(hessp(x, p), rosen_hess_prod(x, p), rtol=0, atol=atol)


@pytest.mark.parametrize(
    "make_source",
    [lambda hp: rosen_der, lambda hp: hp.Gradient(rosen_grad_rows, vectorized=True)],
    ids=["callable", "vectorized"],
)
def test_trust_krylov_with_finite_difference_source_reaches_the_minimum(hp, make_source):
    res = minimize(
        rosen,
        X0,
        jac=rosen_der,
        method="trust-krylov",
        hessp=hp.hessp(make_source(hp), threads=1),
    )
    assert res.success, res.message
    # the minimizer is x* = 1 with f* = 0; trust-krylov's gtol 1e-8 on |g| puts x within
    # |g| / lambda_min ~ 2e-8 of it (measured: max |x - 1| = 4.8e-8, f = 9.5e-14)
    assert_allclose(res.x, 1.0, atol=1e-6)
    assert res.fun < 1e-10


# --------------------------------------------------------------------------------------
# hessp values
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 5, 1000], ids=lambda n: f"n={n}")
def test_hessp_matches_rosen_hess_prod(hp, n):
    rng = np.random.default_rng(n)
    x, p = rng.uniform(-2, 2, n), rng.standard_normal(n)
    want = rosen_hess_prod(x, p)
    scale = references.rosen_abs_matvec_scale(x, p)
    # exact path: the two differ only in operation order (~ a few ulps of the term sizes)
    assert_allclose(
        hp.hessp(hp.functions.rosenbrock())(x, p), want, rtol=0, atol=64 * references.EPS * scale
    )
    # central differences of rosen_der: O(h^2) truncation + rounding, h ~ 6e-6 (1 + rms x)
    # / rms(p): 400 h^2 |p|^3-type terms ~ 1e-7 relative at most (measured ~1e-9)
    assert_allclose(hp.hessp(rosen_der)(x, p), want, rtol=0, atol=1e-6 * scale)
    # extra minimize(args=...) are accepted and ignored
    assert_array_equal(
        hp.hessp(hp.functions.rosenbrock())(x, p, "ignored", 3),
        hp.hvp(hp.functions.rosenbrock(), x, p),
    )


def test_hessp_counts_calls_and_refuses_bad_sources(hp):
    h = hp.hessp(hp.functions.rosenbrock())
    h(np.zeros(3), np.ones(3))
    h(np.zeros(3), np.ones(3))
    assert h.calls == 2
    with pytest.raises(TypeError, match="source"):
        hp.hessp(42)
    with pytest.raises(ValueError, match="scheme"):
        hp.hessp(hp.functions.rosenbrock(), scheme="forward")
    with pytest.raises(ValueError, match="threads"):
        hp.hessp(rosen_der, threads=0)
    with pytest.raises(ValueError, match="p must have length 3"):
        h(np.zeros(3), np.ones(4))


# --------------------------------------------------------------------------------------
# HessianOperator
# --------------------------------------------------------------------------------------

OPERATOR_CASES = ["rosenbrock", "ackley", "quadratic", "logistic_regression", "fd_rosen"]


@pytest.fixture(params=OPERATOR_CASES, ids=OPERATOR_CASES)
def operator_case(request, hp):
    """(source, x, dense reference Hessian, rtol of the products) at n = 60."""
    rng = np.random.default_rng(42)
    n = 60
    if request.param == "fd_rosen":
        x = rng.uniform(-2, 2, n)
        # central differences: ~1e-9 relative (see test_dense_and_spectra)
        return rosen_grad_np, x, scipy.optimize.rosen_hess(x), 1e-7
    f, x, ref = references.make_case(request.param, n, rng)
    return f, x, ref.hessian(x), 1e-12


def test_operator_is_symmetric_float64(hp, operator_case):
    source, x, _, _ = operator_case
    op = hp.HessianOperator(source, x)
    n = x.size
    assert op.shape == (n, n) and op.dtype == np.float64
    assert op.H is op and op.T is op
    v = np.random.default_rng(1).standard_normal(n)
    assert_array_equal(op.rmatvec(v), op.matvec(v))


def test_operator_matvec_matches_dense(hp, operator_case):
    source, x, H, rtol = operator_case
    op = hp.HessianOperator(source, x)
    V = np.random.default_rng(2).standard_normal((x.size, 11))
    scale = np.abs(H) @ np.abs(V)
    assert_allclose(op.matmat(V), H @ V, rtol=0, atol=rtol * scale.max())
    assert_allclose(op.matvec(V[:, 0]), H @ V[:, 0], rtol=0, atol=rtol * scale.max())


def test_operator_matmat_equals_columnwise_matvec(hp, operator_case):
    source, x, _, _ = operator_case
    op = hp.HessianOperator(source, x)
    V = np.random.default_rng(3).standard_normal((x.size, 11))  # passes of 8 + 4 lanes
    block = op.matmat(V)
    assert (op.calls, op.products) == (1, 11)  # one engine call for the whole block
    cols = np.column_stack([op.matvec(V[:, j]) for j in range(V.shape[1])])
    assert (op.calls, op.products) == (12, 22)
    # Each dual lane (and each finite difference) does the same arithmetic whatever the
    # number of lanes in its pass, so the block equals the columns to the bit.
    assert_array_equal(block, cols)


def test_operator_with_eigsh(hp, operator_case):
    source, x, H, rtol = operator_case
    op = hp.HessianOperator(source, x)
    vals = eigsh(op, k=4, which="LA", tol=0, return_eigenvectors=False)
    want = np.linalg.eigvalsh(H)[-4:]
    assert_allclose(np.sort(vals), want, rtol=0, atol=max(rtol, 1e-10) * np.abs(want).max() * 10)


def test_operator_with_cg_and_minres(hp):
    # SPD: cg; indefinite: minres.  The reference is numpy.linalg.solve of the dense Hessian.
    rng = np.random.default_rng(5)
    n = 80
    A = references.random_symmetric(n, rng)
    lam = np.linspace(1.0, 50.0, n)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    spd = (Q * lam) @ Q.T
    spd = (spd + spd.T) / 2
    b = rng.standard_normal(n)
    op = hp.HessianOperator(hp.functions.quadratic(spd), np.zeros(n))
    sol, info = cg(op, b, rtol=1e-12, maxiter=1000)
    assert info == 0
    # cond = 50: the 1e-12 residual gives a 5e-11 relative error at most
    assert_allclose(
        sol, np.linalg.solve(spd, b), rtol=0, atol=1e-9 * np.abs(np.linalg.solve(spd, b)).max()
    )
    op = hp.HessianOperator(hp.functions.quadratic(A), rng.standard_normal(n))
    sol, info = minres(op, b, rtol=1e-12, maxiter=5000)
    assert info == 0
    want = np.linalg.solve(A, b)
    # minres stops at |r| <= 1e-12 |b|; |x - x*| <= |r| / min|lambda| (A's min |eigenvalue|)
    bound = 1e-12 * np.linalg.norm(b) / np.abs(np.linalg.eigvalsh(A)).min()
    assert np.linalg.norm(sol - want) <= 10 * bound


def test_operator_refuses_bad_input(hp):
    f = hp.functions.rosenbrock()
    with pytest.raises(ValueError, match="x must be finite"):
        hp.HessianOperator(f, [0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="x must have length"):
        hp.HessianOperator(hp.functions.quadratic(np.eye(3)), np.zeros(4))
    with pytest.raises(ValueError, match="x must be a 1-D"):
        hp.HessianOperator(rosen_der, np.zeros((2, 2)))
    with pytest.raises(TypeError, match="source"):
        hp.HessianOperator("rosen", np.zeros(3))
    op = hp.HessianOperator(f, np.zeros(3))
    with pytest.raises(ValueError):
        op.matvec(np.ones(4))
