"""The Gauss-Newton (outer-product) approximation of a Hessian, as a ``LinearOperator``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.linalg import LinearOperator

from ._validation import as_point, as_real_array, check_all_finite
from .functions import Function

__all__ = ["GaussNewtonOperator", "gauss_newton"]


class GaussNewtonOperator(LinearOperator):  # type: ignore[misc]  # scipy is untyped
    """G = J' diag(w) J + shift I: symmetric positive semidefinite, float64, shape (n, n).

    Made by :func:`gauss_newton`.  ``matvec`` and ``matmat`` cost two products with J
    (O(m n) per column); G itself is formed only by :meth:`dense`.

    Attributes
    ----------
    jacobian : ndarray, shape (m, n)
        J (read-only).
    weights : ndarray, shape (m,)
        w (read-only): ones for least squares.
    shift : float
        The multiple of the identity added (ridge strength plus damping).
    residuals : ndarray, shape (m,), or None
        The residuals at the point, for least-squares problems.
    """

    def __init__(
        self,
        jacobian: NDArray[np.float64],
        weights: NDArray[np.float64],
        shift: float,
        residuals: NDArray[np.float64] | None = None,
    ) -> None:
        n = jacobian.shape[1]
        super().__init__(dtype=np.dtype(np.float64), shape=(n, n))
        self.jacobian = jacobian
        self.weights = weights
        self.shift = float(shift)
        self.residuals = residuals
        for arr in (jacobian, weights, residuals):
            if arr is not None:
                arr.flags.writeable = False

    def __repr__(self) -> str:
        m, n = self.jacobian.shape
        return f"<{n}x{n} hessprobe.GaussNewtonOperator from a {m}x{n} Jacobian>"

    def _matvec(self, v: NDArray[Any]) -> NDArray[np.float64]:
        vec = np.ravel(v)
        out: NDArray[np.float64] = self.jacobian.T @ (self.weights * (self.jacobian @ vec))
        return out + self.shift * vec

    def _matmat(self, V: NDArray[Any]) -> NDArray[np.float64]:
        JV = self.weights[:, None] * (self.jacobian @ V)
        out: NDArray[np.float64] = self.jacobian.T @ JV
        return out + self.shift * V

    def _rmatvec(self, v: NDArray[Any]) -> NDArray[np.float64]:
        return self._matvec(v)

    def _rmatmat(self, V: NDArray[Any]) -> NDArray[np.float64]:
        return self._matmat(V)

    def _adjoint(self) -> GaussNewtonOperator:
        return self

    def _transpose(self) -> GaussNewtonOperator:
        return self

    def diagonal(self) -> NDArray[np.float64]:
        """Return diag(G) = sum_i w_i J_ij^2 + shift, shape (n,), in O(m n).

        The diagonal approximation of Optimal Brain Damage (LeCun et al. 1990), for a
        least-squares loss.
        """
        diag: NDArray[np.float64] = np.einsum(
            "ij,i,ij->j", self.jacobian, self.weights, self.jacobian
        )
        return diag + self.shift

    def dense(self) -> NDArray[np.float64]:
        """Return G as a dense (n, n) array (exactly symmetric)."""
        J = self.jacobian
        G: NDArray[np.float64] = (J.T * self.weights) @ J
        G = 0.5 * (G + G.T)
        G[np.diag_indices_from(G)] += self.shift
        return G


def _user_jacobian(
    residuals: Callable[..., Any], jacobian: Any, point: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r = as_real_array(residuals(point.copy()), "residuals(x)")
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"residuals(x) must return a non-empty 1-D array, got shape {r.shape}")
    check_all_finite(r, "residuals(x)")
    J = as_real_array(jacobian(point.copy()) if callable(jacobian) else jacobian, "jacobian")
    want = (r.shape[0], point.shape[0])
    if J.shape != want:
        raise ValueError(
            f"jacobian must have shape (m, n) = {want} (m residuals, n = len(x)), got {J.shape}"
        )
    check_all_finite(J, "jacobian")
    return J, r


def gauss_newton(
    source: Any,
    x: ArrayLike,
    jacobian: Any = None,
    *,
    damping: float = 0.0,
) -> GaussNewtonOperator:
    """Return the Gauss-Newton approximation of the Hessian at ``x`` as an operator.

    For a least-squares loss f = 1/2 ||r||^2 the Hessian is
    J'J + sum_i r_i Hess(r_i); Gauss-Newton keeps the outer-product part J'J, which is
    positive semidefinite and needs first derivatives only, and is exact where the
    residuals vanish.  For the logistic loss of
    :func:`hessprobe.functions.logistic_regression` it is
    sum_i s_i (1 - s_i) x_i x_i' / m + l2 I (s_i the predicted probability, x_i the
    gradient of the logit z_i = x_i'w), which for this loss *is* the Hessian.

    Parameters
    ----------
    source : LeastSquares, Function or callable
        A least-squares built-in (:func:`hessprobe.functions.exponential_fit`), the
        built-in :func:`~hessprobe.functions.logistic_regression`, or a callable
        ``residuals(x) -> (m,)`` given together with ``jacobian``.
    x : array_like, shape (n,)
        The point.
    jacobian : callable or array_like, optional
        For a residuals callable: ``jacobian(x) -> (m, n)``, or J at ``x`` itself.
    damping : float, optional
        lambda >= 0 added to the diagonal: the Levenberg-Marquardt matrix J'J + lambda I.

    Returns
    -------
    GaussNewtonOperator
        With ``matvec``, ``matmat``, ``diagonal()`` and ``dense()``.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> t = np.linspace(0.0, 2.0, 20)
    >>> f = hp.functions.exponential_fit(t, 3.0 * np.exp(-1.5 * t) + 1.0)
    >>> p = np.array([3.0, -1.5, 1.0])              # the exact fit: zero residuals
    >>> G = hp.gauss_newton(f, p)
    >>> bool(np.allclose(G.dense(), f.hessian(p), rtol=1e-12, atol=0))
    True
    >>> def residuals(p):
    ...     return p[0] * np.exp(p[1] * t) + p[2] - (3.0 * np.exp(-1.5 * t) + 1.0)
    >>> def jacobian(p):
    ...     e = np.exp(p[1] * t)
    ...     return np.column_stack([e, p[0] * t * e, np.ones_like(t)])
    >>> bool(np.allclose(hp.gauss_newton(residuals, p, jacobian).diagonal(), G.diagonal()))
    True
    """
    if not (isinstance(damping, (int, float)) and math.isfinite(damping) and damping >= 0):
        raise ValueError(f"damping must be a finite number >= 0, got {damping!r}")
    parts = getattr(source, "gauss_newton_parts", None)
    if parts is not None:
        if jacobian is not None:
            raise ValueError(f"jacobian is for a residuals callable; {source!r} has its own")
        J, weights, shift, r = parts(x)
        return GaussNewtonOperator(J, weights, shift + damping, r)
    if isinstance(source, Function):
        raise ValueError(
            f"source {source.name} is not a least-squares or logistic loss: Gauss-Newton is "
            "defined for hessprobe.functions.exponential_fit, logistic_regression or a "
            "residuals callable with its jacobian"
        )
    if not callable(source):
        raise TypeError(
            "source must be a least-squares built-in, logistic_regression or a residuals "
            f"callable; got {type(source).__name__}"
        )
    if jacobian is None:
        raise TypeError("jacobian is required with a residuals callable: jacobian(x) or J at x")
    point = as_point(x)
    J, r = _user_jacobian(source, jacobian, point)
    return GaussNewtonOperator(J, np.ones(J.shape[0]), damping, r)
