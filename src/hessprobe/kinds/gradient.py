"""A Python gradient, plain or vectorized: its options, and its finite-difference kind.

With ``scheme="dual"`` the gradient is evaluated on dual numbers instead (:mod:`.dual`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import as_point, check_all_finite
from .base import Source
from .finite_difference import (
    SCHEMES,
    FiniteDifferencePrepared,
    FiniteDifferenceSource,
    check_scheme,
    check_step,
)

__all__ = [
    "GRADIENT_SCHEMES",
    "Gradient",
    "GradientKind",
    "GradientPrepared",
    "GradientSource",
    "Scheme",
    "checked_gradient",
    "gradient_source",
    "with_gradient_options",
]

_F64 = NDArray[np.float64]

#: How the HVPs of a Python gradient are made: a finite-difference scheme, or "dual".
Scheme = Literal["central", "forward", "complex", "dual"]
GRADIENT_SCHEMES: tuple[str, ...] = (*SCHEMES, "dual")


@dataclass(frozen=True)
class Gradient:
    """A user's gradient function with the scheme that makes its HVPs.

    ``"dual"``: exact HVPs, the gradient called once on dual numbers seeded along up to 8
    directions (an array whose dtype carries a value and 8 tangent lanes per element);
    it works for NumPy code that keeps to the operations listed in
    :mod:`hessprobe.kinds.dual` (``np.asarray``, ``zeros_like``, slicing and assignment,
    ``@``/``np.dot``, sums, the elementary functions, ``scipy.special.expit``, ...) and
    raises a ``TypeError`` naming anything else.  The others are finite differences of a
    gradient one can only call: ``"central"`` (g(x + h v) - g(x - h v)) / 2h, two calls
    per product, error O(h^2); ``"forward"`` (g(x + h v) - g(x)) / h, one call per
    product (g(x) once per run), error O(h); ``"complex"`` Im g(x + i h v) / h, one call,
    exact to rounding, for a gradient written so that complex input flows through (no
    abs, no conjugation, no casts to float).

    The default step balances truncation against rounding in g: h = c (1 + rms(x)) /
    rms(v) with c = eps^(1/3) ~ 6e-6 (central), eps^(1/2) ~ 1.5e-8 (forward) or 1e-20
    (complex), so that the perturbation h v is that fraction of x's typical size.

    Parameters
    ----------
    fn : callable
        ``fn(x) -> g`` with x and g of shape (n,), float64; or, when ``vectorized``,
        ``fn(X) -> G`` with X and G of shape (k, n): k points in one call.  The arrays
        passed in are read-only: writing into one raises NumPy's ``ValueError:
        assignment destination is read-only`` (copy it first to modify it); one the
        function keeps a reference to is never overwritten by a later call.
    vectorized : bool, optional
        Whether ``fn`` takes a block of points (one call per block of 8 probes).
    scheme : {"central", "forward", "complex", "dual"}, optional
    step : float, optional
        A fixed step h instead of the default (finite differences only).

    Notes
    -----
    How a failing gradient reaches the caller (of :func:`~hessprobe.hvp`, the
    estimators, :func:`~hessprobe.hessp`, :class:`~hessprobe.HessianOperator`,
    :func:`~hessprobe.hessian`, :func:`~hessprobe.eigenvalues`, ...), also when it is
    called from several threads:

    * an exception it raises propagates unchanged (same type and message); the other
      threads stop after their current call;
    * a result of the wrong shape is a ``ValueError``, of the wrong dtype (anything but
      float64; complex128 for ``scheme="complex"``) or None a ``TypeError``, each
      naming the gradient and what came back;
    * a result holding NaN or Inf is a ``ValueError`` (always: a non-finite gradient
      makes the finite differences meaningless, and a NaN would otherwise spread
      silently into every estimate);
    * a native gradient (``scipy.LowLevelCallable``) that returns 0 is a
      ``RuntimeError``; one with another C signature is a ``ValueError`` listing the
      accepted signatures;
    * Ctrl-C stops a run within about one block of probes (``KeyboardInterrupt``).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import rosen_der, rosen_hess_prod
    >>> import hessprobe as hp
    >>> x, v = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, -1.0])
    >>> hv = hp.hvp(hp.Gradient(rosen_der), x, v)
    >>> bool(np.allclose(hv, rosen_hess_prod(x, v), rtol=1e-7))
    True
    >>> exact = hp.hvp(hp.Gradient(rosen_der, scheme="dual"), x, v)
    >>> bool(np.allclose(exact, rosen_hess_prod(x, v), rtol=1e-15, atol=0))
    True
    """

    fn: Callable[..., Any]
    vectorized: bool = False
    scheme: Scheme = "central"
    step: float | None = None

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"fn must be callable, got {type(self.fn).__name__}")
        if self.scheme not in GRADIENT_SCHEMES:
            raise ValueError(f"scheme must be one of {GRADIENT_SCHEMES}, got {self.scheme!r}")
        check_step(self.step)
        if self.scheme == "dual" and self.step is not None:
            raise ValueError("step is for finite differences; scheme='dual' is exact and has none")


#: The kinds of a :class:`Gradient` by scheme, besides finite differences: each kind's
#: module (built on this one) enters itself here, so that this module imports none.
SCHEME_KINDS: dict[str, Callable[[Gradient], Source]] = {}


def gradient_source(gradient: Gradient) -> Source:
    """Return the kind of source ``gradient`` is: dual numbers or finite differences."""
    kind = SCHEME_KINDS.get(gradient.scheme)
    return GradientSource(gradient) if kind is None else kind(gradient)


def with_gradient_options(gradient: Gradient, scheme: str | None, step: float | None) -> Source:
    """Return the source of ``gradient`` with ``scheme`` and ``step`` overridden (None: keep)."""
    options: dict[str, Any] = {}
    if scheme is not None:
        options["scheme"] = scheme
    if step is not None:
        options["step"] = step
    return gradient_source(replace(gradient, **options))


def checked_gradient(fn: Callable[..., Any], x: _F64, vectorized: bool) -> _F64:
    """Return g(x) from a Python gradient as float64 of x's shape, checked finite."""
    raw = fn(x[None, :]) if vectorized else fn(x.copy())
    g = np.asarray(raw, dtype=np.float64).reshape(x.shape)
    check_all_finite(g, "the gradient")
    return g


class GradientKind:
    """What the kinds of a :class:`Gradient` share: its repr and its options."""

    gradient: Gradient

    def __repr__(self) -> str:
        return repr(self.gradient)

    def numpy_gradient(self) -> tuple[Callable[..., Any], bool]:
        """Return ``(fn, vectorized)``: the function sparsity detection traces."""
        return self.gradient.fn, self.gradient.vectorized

    def with_options(self, scheme: str | None, step: float | None) -> Source:
        """Return the source with ``scheme`` and ``step`` overridden (None: keep)."""
        if scheme is None and step is None:
            return cast(Source, self)  # a kind mixes this class with a Source
        return with_gradient_options(self.gradient, scheme, step)


class GradientSource(GradientKind, FiniteDifferenceSource):
    """A :class:`Gradient` with a finite-difference scheme as a source."""

    def __init__(self, gradient: Gradient) -> None:
        super().__init__(
            gradient.fn, gradient.vectorized, check_scheme(gradient.scheme), gradient.step
        )
        self.gradient = gradient

    def at(self, x: ArrayLike) -> GradientPrepared:
        """Return the gradient at ``x`` (1-D, non-empty, finite)."""
        return GradientPrepared(self, as_point(x))


class GradientPrepared(FiniteDifferencePrepared):
    """A Python gradient at a point."""

    source: GradientSource

    def gradient(self, threads: int) -> _F64:
        return checked_gradient(self.source.gradient.fn, self.point, self.source.vectorized)
