"""Hutchinson estimators of the Hessian's diagonal and trace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._validation import as_count, as_point, as_seed, check_probing_memory, resolve_threads
from .functions import Function
from .sources import Scheme, core_args, resolve

__all__ = ["Estimate", "hutchinson_diag", "hutchinson_trace"]

T = TypeVar("T", float, NDArray[np.float64])


@dataclass(frozen=True)
class Estimate(Generic[T]):
    """A Monte Carlo estimate with its standard error.

    Attributes
    ----------
    value : float or ndarray
        The estimate (the mean over probes).
    stderr : float or ndarray
        The standard error of that mean: the sample standard deviation over probes
        divided by sqrt(probes), per coordinate for a diagonal.  NaN for one probe.
    probes : int
        The number of probes (Hessian-vector products) used.
    """

    value: T
    stderr: T
    probes: int


def _run(
    source: Any,
    x: ArrayLike,
    probes: int,
    seed: int,
    threads: int | None,
    diagonal: bool,
    scheme: Scheme | None,
    step: float | None,
) -> tuple[Any, ...]:
    src = resolve(source, scheme, step)
    m = as_count(probes, "probes")
    s = as_seed(seed)
    t = resolve_threads(threads)
    if isinstance(src, Function):
        point = src._point(x)
        check_probing_memory(m, point.shape[0], t)
        result: tuple[Any, ...] = src._core.probe(point, m, s, t, diagonal)
        return result
    point = as_point(x)
    check_probing_memory(m, point.shape[0], t)
    fn, vectorized, sch, h = core_args(src)
    result = _core.fd_probe(fn, vectorized, point, m, s, t, diagonal, sch, h)
    return result


def hutchinson_diag(
    source: Any,
    x: ArrayLike,
    probes: int = 1000,
    seed: int = 0,
    threads: int | None = None,
    *,
    scheme: Scheme | None = None,
    step: float | None = None,
) -> Estimate[NDArray[np.float64]]:
    """Estimate the Hessian's diagonal by Hutchinson's method.

    diag(H) = E[v * (H v)] for Rademacher probes v (independent +-1 entries): the
    estimate is the mean of v * (H v) over ``probes`` probes, with its standard error per
    coordinate.  Coordinate i's sample variance is sum_{j != i} H_ij^2, so a diagonal
    Hessian is recovered exactly (standard error 0) from any number of probes.

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    x : array_like, shape (n,)
        The point.
    probes : int, optional
        Number of probes (HVPs), >= 1.
    seed : int, optional
        Probe j is a pure function of (seed, j): the same seed gives bitwise the same
        result for any ``threads``, and the same probes for every source.
    threads : int, optional
        Threads to use (default all cores).
    scheme, step : optional
        Finite-difference options for a callable source.

    Returns
    -------
    Estimate
        ``value`` and ``stderr`` of shape (n,), and ``probes``.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> f = hp.functions.rosenbrock()
    >>> x = np.full(1000, 0.5)
    >>> est = hp.hutchinson_diag(f, x, probes=2000, seed=1)
    >>> z = (est.value - f.hessian_diag(x)) / est.stderr
    >>> bool(abs(z).max() < 6)
    True
    """
    diag, err, *_ = _run(source, x, probes, seed, threads, True, scheme, step)
    return Estimate(diag, err, int(probes))


def hutchinson_trace(
    source: Any,
    x: ArrayLike,
    probes: int = 1000,
    seed: int = 0,
    threads: int | None = None,
    *,
    scheme: Scheme | None = None,
    step: float | None = None,
) -> Estimate[float]:
    """Estimate the Hessian's trace by Hutchinson's method.

    trace(H) = E[v . (H v)] for Rademacher v; the sample variance is
    2 sum_{i != j} H_ij^2, the smallest of any i.i.d. probe distribution.

    Parameters are those of :func:`hutchinson_diag`.

    Returns
    -------
    Estimate
        ``value`` and ``stderr`` as floats, and ``probes``.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> f = hp.functions.styblinski_tang()
    >>> est = hp.hutchinson_trace(f, np.zeros(10), probes=4)
    >>> est.value, est.stderr
    (-160.0, 0.0)
    """
    _, _, trace, err, _ = _run(source, x, probes, seed, threads, False, scheme, step)
    return Estimate(float(trace), float(err), int(probes))
