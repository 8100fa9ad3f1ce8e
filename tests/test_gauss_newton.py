"""Issue 4: the exponential_fit least-squares built-in and the Gauss-Newton operator.

References: the NumPy formulas below (residuals, Jacobian, the residual-curvature term
sum_i r_i Hess(r_i) derived by hand), and the logistic-regression Hessian of ``references``.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import references
from numpy.testing import assert_allclose, assert_array_equal
from references import EPS

from hessprobe import _core

P_TRUE = np.array([3.0, -1.5, 1.0])


def _data(m: int, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0.0, 3.0, m))
    y = P_TRUE[0] * np.exp(P_TRUE[1] * t) + P_TRUE[2] + noise * rng.standard_normal(m)
    return t, y


def np_residuals(p, t, y):
    return p[0] * np.exp(p[1] * t) + p[2] - y


def np_jacobian(p, t):
    e = np.exp(p[1] * t)
    return np.column_stack([e, p[0] * t * e, np.ones_like(t)])


def np_residual_curvature(p, t, y):
    """sum_i r_i Hess(r_i): Hess(r_i) has d2/dp0dp1 = t e and d2/dp1^2 = p0 t^2 e only."""
    r, e = np_residuals(p, t, y), np.exp(p[1] * t)
    S = np.zeros((3, 3))
    S[0, 1] = S[1, 0] = np.sum(r * t * e)
    S[1, 1] = np.sum(r * p[0] * t * t * e)
    return S


def np_hessian(p, t, y):
    J = np_jacobian(p, t)
    return J.T @ J + np_residual_curvature(p, t, y)


POINTS = {"near": np.array([2.7, -1.3, 1.2]), "far": np.array([1.0, 0.4, -2.0])}


@pytest.fixture(params=list(POINTS), ids=list(POINTS))
def point(request):
    return POINTS[request.param]


@pytest.fixture(params=[7, 300, 3000], ids=lambda m: f"m={m}")  # 3000 rows: 3 state parts
def fit(request, hp):
    t, y = _data(request.param, noise=0.05)
    return hp.functions.exponential_fit(t, y), t, y


# --------------------------------------------------------------------------------------
# the built-in
# --------------------------------------------------------------------------------------


def test_exponential_fit_matches_numpy(fit, point):
    f, t, y = fit
    r, J = np_residuals(point, t, y), np_jacobian(point, t)
    # residuals, Jacobian: a handful of roundings each (exp is correctly rounded to ~1ulp)
    assert_allclose(
        f.residuals(point), r, rtol=0, atol=16 * EPS * (np.abs(y).max() + np.abs(r).max() + 10)
    )
    assert_allclose(f.jacobian(point), J, rtol=16 * EPS, atol=0)
    assert f.value(point) == pytest.approx(0.5 * float(r @ r), rel=1e-13)
    g = J.T @ r
    assert_allclose(f.grad(point), g, rtol=0, atol=1e-13 * (np.abs(J).T @ np.abs(r)).max())
    H = np_hessian(point, t, y)
    # exact (dual numbers) against the hand-derived Hessian: sums of m terms, 1e-12 of the
    # term sizes
    scale = (np.abs(J).T @ np.abs(J)).max() + np.abs(
        np_residual_curvature(point, np.abs(t), np.abs(y))
    ).max()
    assert_allclose(f.hessian(point), H, rtol=0, atol=1e-12 * scale)
    v = np.random.default_rng(1).standard_normal((5, 3))
    assert_allclose(f.hvp(point, v), v @ H, rtol=0, atol=1e-12 * scale * np.abs(v).max())
    assert f.size == 3 and f.residual_count == t.size


@pytest.mark.parametrize("build", _core.runnable_builds())
def test_exponential_fit_is_bitwise_reproducible_in_every_build(hp, build):
    core = importlib.import_module(f"hessprobe._core_{build}")
    t, y = _data(5000, 0.05)
    a, b = core.ExponentialFit(t, y), core.ExponentialFit(t, y)
    p = POINTS["far"]
    V = np.random.default_rng(2).standard_normal((11, 3))
    assert_array_equal(a.gradient(p, 2), b.gradient(p, 1))
    assert_array_equal(a.hvp(p, V, 2), b.hvp(p, V, 1))
    assert_array_equal(a.jacobian(p), b.jacobian(p))


def test_exponential_fit_refuses_bad_input(hp):
    with pytest.raises(ValueError, match="y must have one value per entry of t"):
        hp.functions.exponential_fit(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="t must not be empty"):
        hp.functions.exponential_fit([], [])
    with pytest.raises(ValueError, match="t must be finite"):
        hp.functions.exponential_fit([0.0, np.nan], [1.0, 2.0])
    f = hp.functions.exponential_fit([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="x must have length 3"):
        f.jacobian(np.zeros(4))
    with pytest.raises(ValueError, match="x must be finite"):
        f.residuals([1.0, np.nan, 0.0])


# --------------------------------------------------------------------------------------
# Gauss-Newton against the exact Hessian
# --------------------------------------------------------------------------------------


def test_gauss_newton_is_the_exact_hessian_at_a_zero_residual_solution(hp):
    t, y = _data(50, noise=0.0)
    f = hp.functions.exponential_fit(t, y)
    G = hp.gauss_newton(f, P_TRUE)
    assert np.abs(G.residuals).max() < 1e-14  # the data are the model at P_TRUE
    H = f.hessian(P_TRUE)
    # H = J'J + sum r_i Hess r_i with r = 0 to rounding: equal to 1e-12 relative
    assert_allclose(G.dense(), H, rtol=0, atol=1e-12 * np.abs(H).max())


def test_gauss_newton_misses_exactly_the_residual_curvature(hp, fit, point):
    f, t, y = fit
    G = hp.gauss_newton(f, point)
    H = f.hessian(point)
    S = np_residual_curvature(point, t, y)
    assert np.abs(S).max() > 1e-3 * np.abs(H).max()  # away from a solution it matters
    # H - G = sum_i r_i Hess(r_i), with H the built-in's exact Hessian (dual numbers) and
    # S written by hand; 1e-10 of the size of the terms (measured ~1e-15)
    scale = np.abs(H).max() + np.abs(S).max()
    assert_allclose(H - G.dense(), S, rtol=0, atol=1e-10 * scale)


@pytest.mark.parametrize("form", ["callable", "array"])
def test_gauss_newton_of_a_user_residuals_and_jacobian(hp, fit, point, form):
    f, t, y = fit
    jac = (lambda p: np_jacobian(p, t)) if form == "callable" else np_jacobian(point, t)
    G = hp.gauss_newton(lambda p: np_residuals(p, t, y), point, jac)
    J = np_jacobian(point, t)
    assert_allclose(G.dense(), J.T @ J, rtol=1e-13, atol=0)
    assert_allclose(G.dense(), hp.gauss_newton(f, point).dense(), rtol=1e-13, atol=0)
    assert_allclose(G.residuals, np_residuals(point, t, y), rtol=0, atol=1e-14 * np.abs(y).max())


def test_gauss_newton_of_logistic_regression_is_its_exact_hessian(hp):
    rng = np.random.default_rng(5)
    f, w, ref = references.make_case("logistic_regression", 30, rng)
    G = hp.gauss_newton(f, w)
    H = f.hessian(w)
    # sum_i s_i (1 - s_i) x_i x_i' / m + l2 I is this loss's Hessian: equal to rounding
    assert_allclose(G.dense(), H, rtol=0, atol=1e-12 * np.abs(H).max())
    assert_allclose(G.dense(), ref.hessian(w), rtol=0, atol=1e-12 * np.abs(H).max())
    assert_allclose(G.diagonal(), np.diag(H), rtol=1e-12)


# --------------------------------------------------------------------------------------
# the operator
# --------------------------------------------------------------------------------------


@pytest.fixture(params=["exponential_fit", "logistic_regression", "user"])
def gn(request, hp):
    rng = np.random.default_rng(6)
    if request.param == "exponential_fit":
        t, y = _data(40, 0.1)
        return hp.gauss_newton(hp.functions.exponential_fit(t, y), POINTS["far"], damping=0.5)
    if request.param == "logistic_regression":
        f, w, _ = references.make_case("logistic_regression", 12, rng)
        return hp.gauss_newton(f, w)
    J = rng.standard_normal((20, 9))
    return hp.gauss_newton(lambda p: np.zeros(20), np.zeros(9), J)


def test_operator_products_diagonal_and_dense_agree(gn):
    n = gn.shape[0]
    G = gn.dense()
    J, w = gn.jacobian, gn.weights
    want = (J.T * w) @ J + gn.shift * np.eye(n)  # the definition, in NumPy
    assert_allclose(G, want, rtol=1e-13, atol=1e-15 * np.abs(want).max())
    assert_array_equal(G, G.T)
    V = np.random.default_rng(7).standard_normal((n, 5))
    block = gn.matmat(V)
    assert_allclose(block, np.column_stack([gn.matvec(V[:, j]) for j in range(5)]), rtol=1e-13)
    assert_allclose(block, G @ V, rtol=0, atol=1e-13 * (np.abs(G) @ np.abs(V)).max())
    assert_allclose(gn.diagonal(), np.diag(G), rtol=1e-13)
    assert gn.H is gn and gn.T is gn


def test_damping_adds_lambda_times_identity(hp):
    t, y = _data(30, 0.1)
    f = hp.functions.exponential_fit(t, y)
    p = POINTS["near"]
    assert_allclose(
        hp.gauss_newton(f, p, damping=2.5).dense() - hp.gauss_newton(f, p).dense(),
        2.5 * np.eye(3),
        rtol=0,
        atol=1e-12 * np.abs(f.hessian(p)).max(),
    )


def test_gauss_newton_refuses_bad_input(hp):
    t, y = _data(10, 0.1)
    res = lambda p: np_residuals(p, t, y)  # noqa: E731
    with pytest.raises(ValueError, match="not a least-squares or logistic"):
        hp.gauss_newton(hp.functions.rosenbrock(), np.zeros(3))
    with pytest.raises(TypeError, match="jacobian is required"):
        hp.gauss_newton(res, P_TRUE)
    with pytest.raises(ValueError, match=r"jacobian must have shape \(m, n\) = \(10, 3\)"):
        hp.gauss_newton(res, P_TRUE, np.zeros((10, 4)))
    with pytest.raises(ValueError, match="jacobian must be finite"):
        hp.gauss_newton(res, P_TRUE, np.full((10, 3), np.nan))
    with pytest.raises(ValueError, match="damping"):
        hp.gauss_newton(res, P_TRUE, np_jacobian(P_TRUE, t), damping=-1.0)
    with pytest.raises(TypeError, match="source must be"):
        hp.gauss_newton(42, P_TRUE)
    with pytest.raises(ValueError, match="jacobian is for a residuals callable"):
        hp.gauss_newton(hp.functions.exponential_fit(t, y), P_TRUE, np.zeros((10, 3)))
