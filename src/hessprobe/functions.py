"""Built-in test functions with exact derivatives.

Each function's gradient is written once in C++, templated on the scalar type; evaluated
on dual numbers it gives exact Hessian-vector products (Pearlmutter's trick by
forward-mode differentiation), eight directions per pass.

Examples
--------
>>> import numpy as np
>>> import hessprobe as hp
>>> f = hp.functions.rosenbrock()
>>> x = np.array([1.0, 1.0, 1.0])
>>> f.value(x)
0.0
>>> f.hvp(x, np.array([1.0, 0.0, 0.0]))
array([ 802., -400.,    0.])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from . import _core
from ._validation import as_point, as_real_array, check_all_finite
from .derivatives import Derivatives
from .kinds.builtin import BuiltinSource, DomainCheck

__all__ = [
    "Function",
    "GaussNewtonParts",
    "LeastSquares",
    "LogisticRegression",
    "ackley",
    "exponential_fit",
    "logistic_regression",
    "quadratic",
    "rastrigin",
    "rosenbrock",
    "styblinski_tang",
]


#: (J, w, shift, residuals or None): the factors of G = J' diag(w) J + shift I.
GaussNewtonParts = tuple[
    NDArray[np.float64], NDArray[np.float64], float, "NDArray[np.float64] | None"
]


class Function(Derivatives):
    """A built-in function of ``x``: value, gradient and exact second derivatives.

    Create one with a factory of this module (:func:`rosenbrock`, ...); every method
    takes ``x`` as a 1-D array-like of length :attr:`size` (or any length
    >= :attr:`min_size` when :attr:`size` is None).  The second-derivative methods are
    those of the top level (:func:`hessprobe.hvp`, :func:`hessprobe.hessian`,
    :func:`hessprobe.hessian_diag`) applied to this function: one path for every source.
    """

    def __init__(
        self,
        core_class: str,
        core_args: tuple[Any, ...],
        params: dict[str, Any],
        domain: DomainCheck | None = None,
    ) -> None:
        # The compiled object is built from (class name, arguments) so that the same
        # function can be made from another build of the core (see tests/test_builds.py).
        self._core_class = core_class
        self._core_args = core_args
        self._core = getattr(_core, core_class)(*core_args)
        self._params = params
        self._source = BuiltinSource(self._core, repr(self), domain)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as what builds it (the compiled object itself does not pickle): a
        # built-in travels to an executor's workers (hessprobe.distributed).
        args = (self._core_class, self._core_args, self._params, self._source.domain)
        return (type(self), args)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"hessprobe.functions.{self.name}({args})"

    def __hessprobe_source__(self) -> BuiltinSource:
        """Return this function as a gradient source (see :mod:`hessprobe.sources`)."""
        return self._source

    @property
    def name(self) -> str:
        """The function's name, as in ``hessprobe.functions``."""
        return str(self._core.name)

    @property
    def min_size(self) -> int:
        """The smallest number of variables the function is defined for."""
        return int(self._core.min_size)

    @property
    def size(self) -> int | None:
        """The number of variables when it is fixed by the data, else None."""
        fixed = int(self._core.fixed_size)
        return fixed or None

    @property
    def bandwidth(self) -> int | None:
        """The half-bandwidth b of the Hessian (H_ij = 0 for |i - j| > b), None if dense."""
        b = int(self._core.bandwidth)
        return b if b >= 0 else None

    def value(self, x: ArrayLike) -> float:
        """Return f(x)."""
        return self._source.at(x).value()


def rosenbrock() -> Function:
    """Return the extended Rosenbrock function of :func:`scipy.optimize.rosen`.

    f(x) = sum_{i<n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, for any n >= 2; its Hessian
    is tridiagonal.

    Examples
    --------
    >>> import hessprobe as hp
    >>> hp.functions.rosenbrock().grad([0.0, 0.0])
    array([-2.,  0.])
    """
    return Function("Rosenbrock", (), {})


def styblinski_tang() -> Function:
    """Return the Styblinski-Tang function, f(x) = 1/2 sum_i (x_i^4 - 16 x_i^2 + 5 x_i).

    Separable: its Hessian is diagonal, 6 x_i^2 - 16.

    Examples
    --------
    >>> import hessprobe as hp
    >>> hp.functions.styblinski_tang().hessian_diag([0.0, 1.0])
    array([-16., -10.])
    """
    return Function("StyblinskiTang", (), {})


def rastrigin(a: float = 10.0) -> Function:
    """Return the Rastrigin function, f(x) = a n + sum_i (x_i^2 - a cos(2 pi x_i)).

    Separable: its Hessian is diagonal, 2 + 4 pi^2 a cos(2 pi x_i).

    Examples
    --------
    >>> import hessprobe as hp
    >>> hp.functions.rastrigin().value([0.0, 0.0])
    0.0
    """
    return Function("Rastrigin", (float(a),), {"a": a})


def _not_origin(x: NDArray[np.float64]) -> None:
    if not x.any():
        raise ValueError("x must not be 0: ackley is not differentiable at the origin")


def ackley(a: float = 20.0, b: float = 0.2, c: float = 2 * math.pi) -> Function:
    """Return the Ackley function.

    f(x) = -a exp(-b sqrt(mean(x^2))) - exp(mean(cos(c x))) + a + e.  Its Hessian is dense,
    yet a gradient and an HVP cost O(n).  Not differentiable at x = 0 (refused there).

    Examples
    --------
    >>> import hessprobe as hp
    >>> round(hp.functions.ackley().value([1.0, 1.0]), 6)
    3.625385
    """
    return Function("Ackley", (float(a), float(b), float(c)), {"a": a, "b": b, "c": c}, _not_origin)


def quadratic(A: ArrayLike, b: ArrayLike | None = None) -> Function:
    """Return f(x) = 1/2 x'Ax + b'x for a symmetric matrix A; its Hessian is A.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Symmetric (checked to rounding: |A - A.T| <= 1e-12 max|A|).
    b : array_like, shape (n,), optional
        Default zeros.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> f = hp.functions.quadratic(np.array([[2.0, 1.0], [1.0, 3.0]]))
    >>> f.hvp([0.0, 0.0], [1.0, 1.0])
    array([3., 4.])
    """
    mat = as_real_array(A, "A")
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1] or mat.shape[0] == 0:
        raise ValueError(f"A must be a non-empty square (n, n) matrix, got shape {mat.shape}")
    if not np.isfinite(mat).all():
        raise ValueError("A must be finite (no NaN or Inf)")
    scale = float(np.abs(mat).max())
    if float(np.abs(mat - mat.T).max()) > 1e-12 * scale:
        raise ValueError("A must be symmetric (A == A.T to rounding)")
    n = mat.shape[0]
    vec = np.zeros(n) if b is None else as_point(b, "b")
    if vec.shape[0] != n:
        raise ValueError(f"b must have length {n} (the number of rows of A), got {vec.shape[0]}")
    return Function("Quadratic", (mat, vec), {"n": n})


def logistic_regression(X: ArrayLike, y: ArrayLike, l2: float = 0.0) -> LogisticRegression:
    """Return the mean logistic loss of a linear model, as a function of the weights w.

    f(w) = 1/m sum_i [log(1 + exp(z_i)) - y_i z_i] + l2/2 ||w||^2 with z = X w; its
    Hessian is X' diag(s (1 - s)) X / m + l2 I, s = sigmoid(z).

    Parameters
    ----------
    X : array_like, shape (m, d)
        Features, one row per sample.
    y : array_like, shape (m,)
        Labels, each 0 or 1.
    l2 : float, optional
        Ridge strength, >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> f = hp.functions.logistic_regression(np.eye(2), np.array([0.0, 1.0]))
    >>> round(f.value([0.0, 0.0]), 6)
    0.693147
    """
    feats = as_real_array(X, "X")
    if feats.ndim != 2 or feats.shape[0] == 0 or feats.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D (m, d) array, got shape {feats.shape}")
    labels = as_point(y, "y")
    if labels.shape[0] != feats.shape[0]:
        raise ValueError(
            f"y must have one label per row of X: X has {feats.shape[0]} rows, y has "
            f"{labels.shape[0]} entries"
        )
    if not np.isfinite(feats).all():
        raise ValueError("X must be finite (no NaN or Inf)")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("y must hold labels 0 or 1")
    if not (math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2}")
    return LogisticRegression(
        "LogisticRegression",
        (feats, labels, float(l2)),
        {"m": feats.shape[0], "d": feats.shape[1], "l2": l2},
    )


class LeastSquares(Function):
    """A built-in nonlinear least-squares problem, f(x) = 1/2 ||r(x)||^2.

    Besides the methods of :class:`Function`, it gives the residuals r(x) and their
    Jacobian J(x), from which :func:`hessprobe.gauss_newton` forms J'J.
    """

    @property
    def residual_count(self) -> int:
        """The number of residuals m."""
        return int(self._core.residual_count)

    def _finite_point(self, x: ArrayLike) -> NDArray[np.float64]:
        point = self._source.at(x).point
        check_all_finite(point, "x")
        return point

    def residuals(self, x: ArrayLike) -> NDArray[np.float64]:
        """Return the residuals r(x), shape (m,)."""
        result: NDArray[np.float64] = self._core.residuals(self._finite_point(x))
        return result

    def jacobian(self, x: ArrayLike) -> NDArray[np.float64]:
        """Return the Jacobian of the residuals, J_ij = dr_i/dx_j, shape (m, n)."""
        result: NDArray[np.float64] = self._core.jacobian(self._finite_point(x))
        return result

    def gauss_newton_parts(self, x: ArrayLike) -> GaussNewtonParts:
        """Return (J, w, shift, r) of G = J' diag(w) J + shift I at ``x``: w = 1, shift 0."""
        point = self._finite_point(x)
        J = self.jacobian(point)
        return J, np.ones(J.shape[0]), 0.0, self.residuals(point)


class LogisticRegression(Function):
    """The built-in mean logistic loss of a linear model (:func:`logistic_regression`)."""

    def gauss_newton_parts(self, x: ArrayLike) -> GaussNewtonParts:
        """Return (X, w, l2, None) with w = s (1 - s) / m: G = X' diag(w) X + l2 I is H."""
        point = self._source.at(x).point
        check_all_finite(point, "x")
        X, _, l2 = self._core_args
        s = expit(X @ point)
        return np.array(X), s * (1.0 - s) / X.shape[0], float(l2), None


def exponential_fit(t: ArrayLike, y: ArrayLike) -> LeastSquares:
    """Return the least-squares fit of y_i ~ p0 exp(p1 t_i) + p2 as a function of p.

    r_i(p) = p0 exp(p1 t_i) + p2 - y_i and f(p) = 1/2 sum_i r_i^2, with p = (p0, p1, p2):
    the classic exponential decay (p1 < 0) or growth on a baseline.  Its Hessian is
    J'J + sum_i r_i Hess(r_i), where J_i = (e_i, p0 t_i e_i, 1), e_i = exp(p1 t_i), and
    Hess(r_i) has the entries d2/dp0dp1 = t_i e_i and d2/dp1^2 = p0 t_i^2 e_i only.

    Parameters
    ----------
    t : array_like, shape (m,)
        The abscissae.
    y : array_like, shape (m,)
        The observations.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> t = np.linspace(0.0, 1.0, 5)
    >>> f = hp.functions.exponential_fit(t, 2.0 * np.exp(-t) + 0.5)
    >>> f.value([2.0, -1.0, 0.5])
    0.0
    >>> f.jacobian([2.0, -1.0, 0.5]).shape
    (5, 3)
    """
    ts = as_point(t, "t")
    ys = as_point(y, "y")
    if ys.shape[0] != ts.shape[0]:
        raise ValueError(
            f"y must have one value per entry of t: t has {ts.shape[0]}, y has {ys.shape[0]}"
        )
    return LeastSquares("ExponentialFit", (ts, ys), {"m": ts.shape[0]})
