"""Gradient sources: what :func:`hessprobe.hvp` and the estimators accept as ``source``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .functions import Function

__all__ = ["Gradient", "Scheme"]

Scheme = Literal["central", "forward", "complex"]
_SCHEMES = ("central", "forward", "complex")


@dataclass(frozen=True)
class Gradient:
    """A user's gradient function with its finite-difference options.

    Hessian-vector products of a gradient one can only call come from finite
    differences of it: ``"central"`` (g(x + h v) - g(x - h v)) / 2h, two calls per
    product, error O(h^2); ``"forward"`` (g(x + h v) - g(x)) / h, one call per product
    (g(x) once per run), error O(h); ``"complex"`` Im g(x + i h v) / h, one call, exact to
    rounding, for a gradient written so that complex input flows through (no abs, no
    conjugation, no casts to float).

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
    scheme : {"central", "forward", "complex"}, optional
    step : float, optional
        A fixed step h instead of the default.

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
    """

    fn: Callable[..., Any]
    vectorized: bool = False
    scheme: Scheme = "central"
    step: float | None = None

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"fn must be callable, got {type(self.fn).__name__}")
        if self.scheme not in _SCHEMES:
            raise ValueError(f"scheme must be one of {_SCHEMES}, got {self.scheme!r}")
        if self.step is not None and not (np.isfinite(self.step) and self.step > 0):
            raise ValueError(f"step must be a finite number > 0, got {self.step!r}")

    @property
    def _step(self) -> float:
        return 0.0 if self.step is None else float(self.step)


@dataclass(frozen=True)
class _Native:
    """A scipy.LowLevelCallable's capsule, with the finite-difference options."""

    capsule: Any
    scheme: Scheme = "central"
    step: float | None = None


def resolve(
    source: Any, scheme: Scheme | None = None, step: float | None = None
) -> Function | Gradient | _Native:
    """Return what ``source`` stands for; ``scheme``/``step`` override a callable's options."""
    if isinstance(source, Function):
        if scheme is not None or step is not None:
            raise ValueError(
                "scheme and step apply to finite differences of a gradient callable; "
                f"the built-in {source.name} has exact derivatives"
            )
        return source
    if _is_low_level_callable(source):
        if scheme == "complex":
            raise ValueError("scheme='complex' needs a Python gradient; a native one is real")
        if step is not None and not (np.isfinite(step) and step > 0):
            raise ValueError(f"step must be a finite number > 0, got {step!r}")
        # A LowLevelCallable is a tuple whose item 0 is the capsule named by its signature.
        return _Native(tuple.__getitem__(source, 0), scheme or "central", step)
    if isinstance(source, Gradient):
        grad = source
    elif callable(source):
        grad = Gradient(source)
    else:
        raise TypeError(
            "source must be a hessprobe built-in function, a gradient callable, "
            f"hessprobe.Gradient or scipy.LowLevelCallable; got {type(source).__name__}"
        )
    if scheme is None and step is None:
        return grad
    return Gradient(
        grad.fn, grad.vectorized, scheme or grad.scheme, grad.step if step is None else step
    )


def _is_low_level_callable(obj: Any) -> bool:
    try:
        from scipy import LowLevelCallable
    except ImportError:  # pragma: no cover - scipy is a dependency
        return False
    return isinstance(obj, LowLevelCallable)


def core_args(src: Gradient | _Native) -> tuple[Any, bool, str, float]:
    """(callable or capsule, vectorized, scheme, step) for the _core source functions."""
    if isinstance(src, _Native):
        return src.capsule, False, src.scheme, 0.0 if src.step is None else float(src.step)
    return src.fn, src.vectorized, src.scheme, src._step
