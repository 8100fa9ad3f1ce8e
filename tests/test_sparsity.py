"""Structure-free Hessians, diagonals and estimators: the pattern declared or detected."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal
from references import rosen_grad_np
from scipy.optimize import rosen_der, rosen_hess

# Exact (dual-number) paths agree with the closed-form Hessian to rounding: the entries
# of rosen_hess are sums of a few terms of size <= 1200 x^2 (relative 1e-13 is ~500 ulp).
EXACT = 1e-13


class Counting:
    """A gradient that counts its calls (any dtype: it also counts the traced call)."""

    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.fn(x)


def laplacian_grad(side):
    """The gradient of sum over grid edges (u_a - u_b)^4 / 4 + sum u^2, a 5-point stencil."""

    def grad(x):
        u = x.reshape(side, side)
        g = 2 * u
        dx = (u[1:, :] - u[:-1, :]) ** 3
        dy = (u[:, 1:] - u[:, :-1]) ** 3
        g[1:, :] += dx
        g[:-1, :] -= dx
        g[:, 1:] += dy
        g[:, :-1] -= dy
        return g.reshape(-1)

    return grad


def dual_hessian(hp, grad, x):
    """The dense reference: every column H e_j by dual numbers (no structure used)."""
    return hp.hessian(grad, x, scheme="dual", sparsity="dense")


def branchy_grad(x):
    """A gradient that branches on values: 2 x_i where x_i > 0, else x_i x_(i+1) terms."""
    g = np.where(x > 0, 2 * x, 0 * x)
    g[:-1] = g[:-1] + np.where(x[:-1] > 0, 0 * x[1:], x[1:])
    return g


def test_pattern_of_a_builtin_is_its_declared_band(hp):
    P = hp.hessian_pattern(hp.functions.rosenbrock(), np.zeros(7))
    assert P.dtype == bool and P.shape == (7, 7)
    assert_array_equal(P.toarray(), np.abs(np.subtract.outer(np.arange(7), np.arange(7))) <= 1)
    assert hp.hessian_pattern(hp.functions.styblinski_tang(), np.zeros(5)).nnz == 5
    assert hp.hessian_pattern(hp.functions.ackley(), np.ones(4)).nnz == 16  # dense


@pytest.mark.parametrize("n", [2, 9, 40])
def test_pattern_of_rosen_der_is_that_of_rosen_hess(hp, n):
    x = np.random.default_rng(n).uniform(-2, 2, n)
    assert_array_equal(hp.hessian_pattern(rosen_der, x).toarray(), rosen_hess(x) != 0)


def test_pattern_needs_numpy_code_or_a_declaration(hp, native):
    with pytest.raises(TypeError, match="sparsity="):
        hp.hessian_pattern(native.callable(), np.zeros(4))
    with pytest.raises(ValueError, match="mode"):
        hp.hessian_pattern(rosen_der, np.zeros(4), mode="everywhere")


@pytest.mark.parametrize("scheme", ["dual", "central"])
@pytest.mark.parametrize("n", [5, 64, 1000])
def test_diagonal_of_a_detected_band(hp, scheme, n):
    x = np.random.default_rng(n).uniform(-2, 2, n)
    grad = Counting(lambda z: rosen_der(z))  # a new function: nothing cached for it
    d = hp.hessian_diag(grad, x, scheme=scheme, threads=1)
    ref = np.diag(rosen_hess(x)) if n <= 64 else hp.functions.rosenbrock().hessian_diag(x)
    # dual: exact; central: the FD error of a unit-step column (dense.column_step docs)
    assert_allclose(d, ref, rtol=EXACT if scheme == "dual" else 1e-7, atol=0)
    # one traced call, then the diagonal's 2 colours (b + 1): one dual call (2 lanes) or
    # 2 FD calls a colour
    assert grad.calls == 1 + (1 if scheme == "dual" else 2 * 2)
    again = hp.hessian_diag(grad, x, scheme=scheme, threads=1)
    assert_array_equal(again, d)  # the cached pattern: no second trace
    assert grad.calls == 2 * (1 if scheme == "dual" else 2 * 2) + 1


@pytest.mark.parametrize("side", [3, 7])
def test_hessian_of_a_detected_stencil(hp, side):
    grad = laplacian_grad(side)
    x = np.random.default_rng(side).uniform(-1, 1, side * side)
    ref = dual_hessian(hp, grad, x)
    H = hp.hessian(grad, x, scheme="dual")
    assert isinstance(H, np.ndarray)
    assert_allclose(H, ref, rtol=0, atol=EXACT * np.abs(ref).max())
    S = hp.hessian(grad, x, scheme="dual", sparse=True)
    assert scipy.sparse.issparse(S) and S.nnz == np.count_nonzero(ref != 0)
    assert_allclose(S.toarray(), ref, rtol=0, atol=EXACT * np.abs(ref).max())
    assert_array_equal(hp.hessian_diag(grad, x, scheme="dual"), np.diag(H))


def test_a_dense_coupling_falls_back_to_every_column(hp):
    def grad(x):
        return rosen_grad_np(x) + 2 * np.sum(x) * np.ones_like(x)

    x = np.random.default_rng(5).uniform(-1, 1, 12)
    assert hp.hessian_pattern(grad, x).nnz == 144
    ref = rosen_hess(x) + 2.0
    assert_allclose(hp.hessian(grad, x, scheme="dual"), ref, rtol=EXACT, atol=0)
    assert_allclose(hp.hessian_diag(grad, x, scheme="dual"), np.diag(ref), rtol=EXACT)


def test_branches_on_values_take_the_local_pattern(hp):
    x = np.array([0.5, -1.0, 2.0, -0.5, -3.0, 1.0])
    with pytest.raises(hp.tracing.TracingError):
        hp.hessian_pattern(branchy_grad, x, mode="global")
    with pytest.raises(hp.tracing.TracingError):
        hp.hessian_diag(branchy_grad, x, sparsity="global")
    local = hp.hessian_pattern(branchy_grad, x)  # auto: the local pattern at x
    ref = dual_hessian(hp, branchy_grad, x)
    assert_array_equal(local.toarray(), (ref != 0) | (ref.T != 0))
    assert_array_equal(hp.hessian_diag(branchy_grad, x, scheme="dual"), np.diag(ref))


def test_code_the_tracer_cannot_follow_takes_every_column(hp):
    def grad(x):  # np.linalg has no loops for user dtypes
        return np.linalg.solve(np.eye(x.size), rosen_grad_np(x))

    x = np.random.default_rng(2).uniform(-1, 1, 6)
    d = hp.hessian_diag(grad, x)
    assert_allclose(d, np.diag(rosen_hess(x)), rtol=1e-7)
    with pytest.raises(TypeError):
        hp.hessian_pattern(grad, x)


def test_sparsity_words(hp):
    x = np.zeros(4)
    with pytest.raises(ValueError, match="sparsity="):
        hp.hessian_diag(rosen_der, x, sparsity="banded")
    grad = Counting(rosen_grad_np)
    hp.hessian_diag(grad, x, sparsity="dense", threads=1)
    assert grad.calls == 2 * 4  # every column, no trace


def test_estimators_use_a_declared_band(hp):
    f = hp.functions.rosenbrock()
    x = np.random.default_rng(1).uniform(-2, 2, 500)
    est = hp.hutchinson_diag(f, x, 50)
    assert (est.method, est.hvps, est.probes) == ("colouring", 2, 0)  # b + 1 colours
    assert_array_equal(est.value, f.hessian_diag(x))
    assert_array_equal(est.stderr, np.zeros(500))
    tr = hp.hutchinson_trace(f, x)
    assert (tr.method, tr.stderr) == ("colouring", 0.0)
    assert tr.value == pytest.approx(float(np.sum(f.hessian_diag(x))), rel=1e-15)
    assert hp.trace(f, x).method == "colouring"
    # a budget below the colours probes, as does structure="none"
    assert hp.hutchinson_diag(f, x, 1).method == "hutchinson"
    probed = hp.hutchinson_diag(f, x, 16, structure="none")
    assert (probed.method, probed.probes) == ("hutchinson", 16)
    with pytest.raises(ValueError, match="structure"):
        hp.hutchinson_diag(f, x, structure="all")


def test_estimators_detect_only_when_asked(hp):
    x = np.random.default_rng(3).uniform(-2, 2, 100)
    grad = hp.Gradient(lambda z: rosen_der(z), scheme="dual")
    assert hp.hutchinson_diag(grad, x, 16).method == "hutchinson"  # "known": none declared
    est = hp.hutchinson_diag(grad, x, 16, structure="detect")
    assert (est.method, est.hvps) == ("colouring", 2)
    assert_allclose(est.value, np.diag(rosen_hess(x)), rtol=EXACT, atol=0)
    # after a detection the default still probes: results never depend on history
    assert hp.hutchinson_diag(grad, x, 16).method == "hutchinson"
