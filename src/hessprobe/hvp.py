"""Hessian-vector products of any gradient source."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_directions, check_out, resolve_threads
from .kinds.base import Prepared
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
    out: NDArray[np.float64] | None = None,
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
    out : ndarray, shape of ``v``, optional
        Where to write the result (float64, C-contiguous, writeable, not overlapping
        ``x`` or ``v``), as in NumPy's ``out=``; it is returned.  A built-in writes into
        it directly, as do compiled functions and finite differences: memory reused
        from call to call is written at cache or bandwidth speed, where a fresh result
        is faulted in page by page (:doc:`/guide/memory`).  Other sources compute the
        products and copy them.

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
    also = (x,) if isinstance(x, np.ndarray) else ()
    return products(prepared, v, resolve_threads(threads), out, also)


def products(
    prepared: Prepared,
    v: ArrayLike,
    threads: int,
    out: NDArray[np.float64] | None,
    also: tuple[NDArray[Any], ...] = (),
) -> NDArray[np.float64]:
    """Return H v at a prepared source for one direction (n,) or rows (k, n), into ``out``.

    ``out`` (checked here) must not share memory with the point, ``v`` or the arrays
    ``also``: the kernel still reads them while it writes.
    """
    block, single = as_directions(v, prepared.n)
    if out is None:
        hv = prepared.hvp(block, threads)
        return hv[0] if single else hv
    checked = check_out(
        out, block.shape[1:] if single else block.shape, (prepared.point, block, *also)
    )
    prepared.hvp_into(block, threads, checked.reshape(block.shape))
    return checked
