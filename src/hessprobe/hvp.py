"""Hessian-vector products of any gradient source."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_directions, resolve_threads
from .sources import Scheme, prepare

__all__ = ["hvp"]


def hvp(
    source: Any,
    x: ArrayLike,
    v: ArrayLike,
    *,
    scheme: Scheme | None = None,
    step: float | None = None,
    threads: int | None = None,
) -> NDArray[np.float64]:
    """Return Hessian-vector products H(x) v of a gradient source.

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        A built-in (:mod:`hessprobe.functions`: exact, by dual numbers), a gradient
        ``grad(x) -> (n,)`` (finite differences), a :class:`~hessprobe.Gradient` with its
        options, or a native gradient ``int (npy_intp n, double *x, double *g, void *)``
        returning 1 on success.
    x : array_like, shape (n,)
        The point.
    v : array_like, shape (n,) or (k, n)
        One direction or k directions as rows.
    scheme, step : optional
        Finite-difference options for a callable source (see :class:`~hessprobe.Gradient`).
    threads : int, optional
        Threads to use (default all cores); the result does not depend on it.

    Returns
    -------
    ndarray, shape of ``v``

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import rosen_hess_prod
    >>> import hessprobe as hp
    >>> x, v = np.linspace(-1, 2, 5), np.ones(5)
    >>> bool(np.allclose(hp.hvp(hp.functions.rosenbrock(), x, v), rosen_hess_prod(x, v)))
    True
    """
    prepared = prepare(source, x, scheme, step)
    block, single = as_directions(v, prepared.n)
    out = prepared.hvp(block, resolve_threads(threads))
    return out[0] if single else out
