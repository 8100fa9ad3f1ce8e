"""Shared helpers for the hessprobe tests: independent NumPy references and case makers.

Imported by ``conftest.py`` (which puts this directory on ``sys.path``, so it also works
with ``--import-mode=importlib``) and by the test modules as ``import references``.

``make_case(name, n, rng)`` returns ``(f, x, ref)``: the hessprobe function object, a valid
point away from any singularity, and the NumPy reference (value, gradient, dense Hessian)
written here from the textbook formulas, so a test always compares the library against
something it did not compute itself.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize
import scipy.special

EPS = float(np.finfo(np.float64).eps)


def _hp() -> Any:
    """Import hessprobe lazily so that a broken build fails the tests, not collection."""
    import hessprobe

    return hessprobe


def assert_same_arithmetic(got: Any, want: Any) -> None:
    """Assert that got, from the core, equals want, computed with the same operations
    outside it (NumPy loops on the dual dtype, a module built with the baseline flags):
    bit for bit when the core in use is the baseline build, which rounds a * b + c twice
    as they do; within rounding (1e-13 of the largest entry) in the FMA builds, which
    round it once (docs/guide/builds.rst)."""
    got, want = np.asarray(got), np.asarray(want)
    if _hp().info()["simd"] == "baseline":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * float(np.abs(want).max()))


# --------------------------------------------------------------------------------------
# Independent NumPy references
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Reference:
    """NumPy reference implementation of one built-in function.

    ``value_scale(x)`` is the sum of the absolute values of the terms that make up the
    value: the natural scale for an absolute tolerance when the terms cancel.
    """

    value: Callable[[np.ndarray], float]
    value_scale: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    hessian: Callable[[np.ndarray], np.ndarray]


def rosen_grad_np(x: np.ndarray) -> np.ndarray:
    """Chained Rosenbrock gradient written with elementwise NumPy ops only.

    The operation order is the one of ``tests/native/rosen_grad.c`` and
    ``tests/native/cy_rosen.pyx`` (left to right, no fused multiply-add), so for the same
    input the three give bitwise identical gradients.  Works for real and complex ``x``.
    """
    g = np.zeros_like(x)
    g[1:-1] = (
        200.0 * (x[1:-1] - x[:-2] * x[:-2])
        - 400.0 * (x[2:] - x[1:-1] * x[1:-1]) * x[1:-1]
        - 2.0 * (1.0 - x[1:-1])
    )
    g[0] = -400.0 * x[0] * (x[1] - x[0] * x[0]) - 2.0 * (1.0 - x[0])
    g[-1] = 200.0 * (x[-1] - x[-2] * x[-2])
    return g


def rosen_grad_rows(P: np.ndarray) -> np.ndarray:
    """Vectorized :func:`rosen_grad_np`: rows of ``P`` (k, n) are points; same arithmetic."""
    P = np.asarray(P)
    G = np.zeros_like(P)
    G[:, 1:-1] = (
        200.0 * (P[:, 1:-1] - P[:, :-2] * P[:, :-2])
        - 400.0 * (P[:, 2:] - P[:, 1:-1] * P[:, 1:-1]) * P[:, 1:-1]
        - 2.0 * (1.0 - P[:, 1:-1])
    )
    G[:, 0] = -400.0 * P[:, 0] * (P[:, 1] - P[:, 0] * P[:, 0]) - 2.0 * (1.0 - P[:, 0])
    G[:, -1] = 200.0 * (P[:, -1] - P[:, -2] * P[:, -2])
    return G


def _rosen_ref() -> Reference:
    def value_scale(x: np.ndarray) -> float:
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))

    return Reference(
        value=lambda x: float(scipy.optimize.rosen(x)),
        value_scale=value_scale,  # all terms are >= 0: no cancellation
        grad=scipy.optimize.rosen_der,
        hessian=scipy.optimize.rosen_hess,
    )


def _styblinski_ref() -> Reference:
    # f = 0.5 * sum(x^4 - 16 x^2 + 5 x); f' = 2x^3 - 16x + 2.5; f'' = 6x^2 - 16
    return Reference(
        value=lambda x: float(0.5 * np.sum(x**4 - 16.0 * x**2 + 5.0 * x)),
        value_scale=lambda x: float(0.5 * np.sum(x**4 + 16.0 * x**2 + 5.0 * np.abs(x))),
        grad=lambda x: 2.0 * x**3 - 16.0 * x + 2.5,
        hessian=lambda x: np.diag(6.0 * x**2 - 16.0),
    )


def _rastrigin_ref(a: float = 10.0) -> Reference:
    # f = a n + sum(x^2 - a cos(2 pi x)); f' = 2x + 2 pi a sin(2 pi x);
    # f'' = 2 + 4 pi^2 a cos(2 pi x)
    w = 2.0 * np.pi
    return Reference(
        value=lambda x: float(a * x.size + np.sum(x**2 - a * np.cos(w * x))),
        value_scale=lambda x: float(a * x.size + np.sum(x**2 + a * np.abs(np.cos(w * x)))),
        grad=lambda x: 2.0 * x + w * a * np.sin(w * x),
        hessian=lambda x: np.diag(2.0 + w * w * a * np.cos(w * x)),
    )


def ackley_value_np(x: np.ndarray, a: float = 20.0, b: float = 0.2, c: float = 2 * np.pi):
    """Ackley value; analytic in x away from 0, so it also accepts complex x (complex step)."""
    n = x.shape[-1]
    r = np.sqrt(np.sum(x * x, axis=-1) / n)
    return -a * np.exp(-b * r) - np.exp(np.sum(np.cos(c * x), axis=-1) / n) + a + np.e


def _ackley_ref(a: float = 20.0, b: float = 0.2, c: float = 2 * np.pi) -> Reference:
    # r = sqrt(S/n), S = sum x^2;  C = mean cos(c x)
    # grad_i = K(r) x_i + e^C c sin(c x_i) / n,   K(r) = a b e^{-b r} / (n r)
    # H = K I + K'(r)/(n r) x x^T - e^C c^2 / n^2 s s^T + diag(e^C c^2 cos(c x) / n),
    #     K'(r) = (a b / n) e^{-b r} (-b / r - 1 / r^2),  s = sin(c x)
    def parts(x: np.ndarray):
        n = x.size
        r = math.sqrt(float(np.sum(x * x)) / n)
        eC = math.exp(float(np.sum(np.cos(c * x))) / n)
        K = a * b * math.exp(-b * r) / (n * r)
        Kp = (a * b / n) * math.exp(-b * r) * (-b / r - 1.0 / r**2)
        return n, r, eC, K, Kp

    def grad(x: np.ndarray) -> np.ndarray:
        n, _r, eC, K, _ = parts(x)
        return K * x + eC * c * np.sin(c * x) / n

    def hessian(x: np.ndarray) -> np.ndarray:
        n, r, eC, K, Kp = parts(x)
        s = np.sin(c * x)
        H = (Kp / (n * r)) * np.outer(x, x) - (eC * c * c / n**2) * np.outer(s, s)
        H[np.diag_indices(n)] += K + eC * c * c * np.cos(c * x) / n
        return H

    def value_scale(x: np.ndarray) -> float:
        _n, r, eC, _, _ = parts(x)
        return float(a * math.exp(-b * r) + eC + a + math.e)

    return Reference(
        value=lambda x: float(ackley_value_np(x, a, b, c)),
        value_scale=value_scale,
        grad=grad,
        hessian=hessian,
    )


def _quadratic_ref(A: np.ndarray, b: np.ndarray | None) -> Reference:
    bb = np.zeros(A.shape[0]) if b is None else b
    return Reference(
        value=lambda x: float(0.5 * x @ A @ x + bb @ x),
        value_scale=lambda x: float(
            0.5 * np.abs(x) @ np.abs(A) @ np.abs(x) + np.abs(bb) @ np.abs(x)
        ),
        grad=lambda x: A @ x + bb,
        hessian=lambda x: A.copy(),
    )


def _logistic_ref(X: np.ndarray, y: np.ndarray, l2: float) -> Reference:
    # f(w) = mean_i [log(1 + e^{z_i}) - y_i z_i] + l2/2 |w|^2, z = X w
    # grad = X^T (sigmoid(z) - y) / m + l2 w;  H = X^T diag(s (1 - s)) X / m + l2 I
    m = X.shape[0]

    def value(w: np.ndarray) -> float:
        z = X @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * (w @ w))

    def value_scale(w: np.ndarray) -> float:
        z = X @ w
        return float(np.mean(np.logaddexp(0.0, z) + np.abs(y * z)) + 0.5 * l2 * (w @ w))

    def grad(w: np.ndarray) -> np.ndarray:
        s = scipy.special.expit(X @ w)
        return X.T @ (s - y) / m + l2 * w

    def hessian(w: np.ndarray) -> np.ndarray:
        s = scipy.special.expit(X @ w)
        return (X.T * (s * (1.0 - s))) @ X / m + l2 * np.eye(X.shape[1])

    return Reference(value=value, value_scale=value_scale, grad=grad, hessian=hessian)


# --------------------------------------------------------------------------------------
# Built-in cases: hessprobe object + valid point + reference
# --------------------------------------------------------------------------------------


def random_symmetric(n: int, rng: np.random.Generator) -> np.ndarray:
    """Dense symmetric matrix with N(0, 1) off-diagonal entries (exactly symmetric)."""
    G = rng.standard_normal((n, n))
    return (G + G.T) / math.sqrt(2.0)


def logistic_data(d: int, rng: np.random.Generator, m: int | None = None):
    """Random design (m, d), labels in {0, 1} drawn from the model, and a weight point."""
    if m is None:
        m = max(2 * d, 40) if d <= 100 else 400
    X = rng.standard_normal((m, d))
    w_true = rng.standard_normal(d) / math.sqrt(d)
    y = (rng.random(m) < scipy.special.expit(X @ w_true)).astype(np.float64)
    w = rng.standard_normal(d) / math.sqrt(d)
    return X, y, w


def away_from_zero(n: int, rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """Uniform magnitudes in [lo, hi] with random signs."""
    return rng.uniform(lo, hi, n) * rng.choice([-1.0, 1.0], n)


def make_case(name: str, n: int, rng: np.random.Generator):
    """Return ``(f, x, ref)`` for built-in ``name`` at dimension ``n``."""
    hp = _hp()
    fns = hp.functions
    if name == "rosenbrock":
        return fns.rosenbrock(), rng.uniform(-2.0, 2.0, n), _rosen_ref()
    if name == "styblinski_tang":
        return fns.styblinski_tang(), rng.uniform(-4.0, 4.0, n), _styblinski_ref()
    if name == "rastrigin":
        return fns.rastrigin(), rng.uniform(-5.12, 5.12, n), _rastrigin_ref()
    if name == "ackley":
        # |x_i| in [0.3, 2]: r = sqrt(mean x^2) >= 0.3, far from the kink at 0.
        return fns.ackley(), away_from_zero(n, rng, 0.3, 2.0), _ackley_ref()
    if name == "quadratic":
        A = random_symmetric(n, rng)
        b = rng.standard_normal(n)
        return fns.quadratic(A, b), rng.standard_normal(n), _quadratic_ref(A, b)
    if name == "logistic_regression":
        X, y, w = logistic_data(n, rng)
        l2 = 0.25  # large enough that a dropped l2 term is visible in every check
        return fns.logistic_regression(X, y, l2=l2), w, _logistic_ref(X, y, l2)
    raise KeyError(name)


BUILTIN_NAMES = (
    "rosenbrock",
    "styblinski_tang",
    "rastrigin",
    "ackley",
    "quadratic",
    "logistic_regression",
)
SEPARABLE_NAMES = ("styblinski_tang", "rastrigin")
DENSE_NAMES = ("rosenbrock", "ackley", "quadratic", "logistic_regression")
MIN_SIZE = {
    "rosenbrock": 2,
    "styblinski_tang": 1,
    "rastrigin": 1,
    "ackley": 1,
    "quadratic": 1,
    "logistic_regression": 1,
}


@dataclasses.dataclass(frozen=True)
class BuiltinCase:
    name: str

    def make(self, n: int, rng: np.random.Generator):
        return make_case(self.name, n, rng)


def abs_matvec_scale(H: np.ndarray, v: np.ndarray) -> float:
    """max_i sum_j |H_ij| |v_j|: the size of the terms whose sum is (H v)_i."""
    return float(np.max(np.abs(H) @ np.abs(v)))


def assert_within(actual, desired, atol, what: str = "") -> None:
    """|actual - desired| <= atol elementwise, with a message showing the worst ratio."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape, (what, actual.shape, desired.shape)
    err = np.abs(actual - desired)
    atol = np.broadcast_to(np.asarray(atol, dtype=np.float64), err.shape)
    bad = ~(err <= atol)
    if np.any(bad):
        ratio = np.where(atol > 0, err / np.where(atol > 0, atol, 1.0), np.inf)
        i = np.unravel_index(int(np.nanargmax(np.where(bad, ratio, -1.0))), err.shape)
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {err.size} entries outside tolerance; worst at "
            f"{i}: actual={actual[i]!r} desired={desired[i]!r} |diff|={err[i]:.3e} "
            f"atol={atol[i]:.3e} (max |diff|/atol = {float(ratio[i]):.3g})"
        )


# --------------------------------------------------------------------------------------
# Sampling distribution of the Hutchinson diagonal estimate (Rademacher probes)
# --------------------------------------------------------------------------------------
#
# One probe gives Y_i = v_i (H v)_i = H_ii + v_i sum_{j != i} H_ij v_j, so with p probes
#   E[est_i] = H_ii,  Var(est_i) = var_i / p,  var_i = sum_{j != i} H_ij^2,
#   Cov(est_i, est_k) = H_ik^2 / p  (i != k; the only pairing of v_i v_j v_k v_l that
#   survives is j = k, l = i).
# The z-scores z_i = (est_i - H_ii) / stderr_i therefore have correlation
#   R_ik = H_ik^2 / sqrt(var_i var_k),
# which we use to bound the spread of mean(z) and std(z) over coordinates.


def offdiag_variance(H: np.ndarray) -> np.ndarray:
    """var_i = sum_{j != i} H_ij^2: the per-probe variance of v_i (H v)_i."""
    H2 = H * H
    return H2.sum(axis=1) - np.diag(H2)


def zscore_spread(H: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Standard deviations of mean(z) and std(z) over the coordinates in ``mask``.

    Var(mean z) = sum_ik R_ik / N^2 (exact for the second moments); for std(z) the
    Gaussian approximation Cov(z_i^2, z_k^2) = 2 R_ik^2 gives
    sd(mean z^2) = sqrt(2 sum R_ik^2) / N and sd(std z) ~ sd(mean z^2) / 2.
    (Both checked against NumPy simulations of the estimator for the four dense built-ins:
    predicted vs observed within 10%.)
    """
    var = offdiag_variance(H)[mask]
    R = (H * H)[np.ix_(mask, mask)] / np.sqrt(np.outer(var, var))
    np.fill_diagonal(R, 1.0)
    N = int(mask.sum())
    return math.sqrt(float(R.sum())) / N, math.sqrt(2.0 * float((R * R).sum())) / N / 2.0


def mean_square_error_rel_sd(H: np.ndarray, probes: int) -> float:
    """Relative standard deviation of MSE = mean_i (est_i - H_ii)^2 at ``probes`` probes.

    With per-probe error vectors e (e_i = v_i (H_off v)_i, covariance C: C_ii = var_i,
    C_ik = H_ik^2) and p probes, N p^2 MSE = sum_q |e_q|^2 + sum_{q != r} <e_q, e_r>:
      * the first part has relative sd sqrt(Var |e|^2 / p) / tr C, where
        |e|^2 = v' M v with M = H_off^2 and, for Rademacher v,
        Var(v' M v) = 2 sum_{i != j} M_ij^2;
      * the second has relative sd sqrt(2 tr C^2 (p - 1) / p) / tr C.
    (A function whose off-diagonal part is low rank, like Ackley's, is dominated by the
    first part: the errors of all coordinates share the few numbers x.v, sin(cx).v.)
    Checked against simulations (Rosenbrock, Ackley): within 10%.
    """
    Hoff = H - np.diag(np.diag(H))
    C = Hoff * Hoff
    np.fill_diagonal(C, C.sum(axis=1))
    trC = float(np.trace(C))
    M = Hoff @ Hoff
    var_quad = 2.0 * (float((M * M).sum()) - float((np.diag(M) ** 2).sum()))
    rel_diag2 = var_quad / probes / trC**2
    rel_cross2 = 2.0 * float((C * C).sum()) * (probes - 1) / probes / trC**2
    return math.sqrt(rel_diag2 + rel_cross2)


def rosen_hess_tridiag(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal and off-diagonal (H_{i,i+1} = -400 x_i) of the Rosenbrock Hessian, O(n)."""
    d = np.zeros_like(x)
    d[0] = 1200.0 * x[0] ** 2 - 400.0 * x[1] + 2.0
    d[1:-1] = 202.0 + 1200.0 * x[1:-1] ** 2 - 400.0 * x[2:]
    d[-1] = 200.0
    return d, -400.0 * x[:-1]


def rosen_abs_matvec_scale(x: np.ndarray, v: np.ndarray) -> float:
    """max_i (|H| |v|)_i for the Rosenbrock Hessian at x without forming H."""
    d, b = rosen_hess_tridiag(x)
    av = np.abs(v)
    out = np.abs(d) * av
    out[:-1] += np.abs(b) * av[1:]
    out[1:] += np.abs(b) * av[:-1]
    return float(out.max())
