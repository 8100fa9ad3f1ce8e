"""SciPy adapters: ``hessp`` for :func:`scipy.optimize.minimize` and a ``LinearOperator``."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.linalg import LinearOperator

from ._validation import as_directions, as_real_array, check_all_finite, resolve_threads
from .distributed import attach
from .hvp import products
from .sources import Scheme, resolve

__all__ = ["HessianOperator", "HessianProduct", "hessp"]


class HessianProduct:
    """The callable ``(x, p) -> H(x) p`` that :func:`hessp` returns.

    Attributes
    ----------
    calls : int
        How many products it has computed.
    """

    def __init__(
        self,
        source: Any,
        scheme: Scheme | None = None,
        step: float | None = None,
        threads: int | None = None,
    ) -> None:
        # a bad source or option is refused now, not mid-run
        self._source = resolve(source, scheme, step)
        self._threads = resolve_threads(threads)
        self.calls = 0

    def __repr__(self) -> str:
        return f"hessprobe.hessp({self._source!r})"

    def __call__(self, x: ArrayLike, p: ArrayLike, *args: Any) -> NDArray[np.float64]:
        """Return H(x) p; ``args`` (what ``minimize(args=...)`` passes on) are ignored.

        ``x`` has shape (n,); ``p`` has shape (n,) or, as ``trust-constr``'s operators
        may pass it, (n, 1).
        """
        self.calls += 1
        prepared = self._source.at(x)
        direction = as_real_array(p, "p")
        if direction.ndim == 2 and direction.shape[1] == 1:
            direction = direction[:, 0]
        elif direction.ndim != 1:
            raise ValueError(f"p must have shape (n,) or (n, 1), got {direction.shape}")
        block, _ = as_directions(direction, prepared.n, "p")
        check_all_finite(block, "p")
        out: NDArray[np.float64] = prepared.hvp(block, self._threads)[0]
        return out


def hessp(
    source: Any,
    *,
    scheme: Scheme | None = None,
    step: float | None = None,
    threads: int | None = None,
) -> HessianProduct:
    """Return ``hessp(x, p) = H(x) p`` for ``scipy.optimize.minimize(hessp=...)``.

    Each call is one Hessian-vector product of ``source``: exact (dual numbers) for a
    built-in, finite differences of the gradient otherwise.  The methods that take
    ``hessp`` are ``Newton-CG``, ``trust-ncg``, ``trust-krylov`` and
    ``trust-constr``.  Extra arguments that ``minimize(args=...)`` passes on are
    ignored: the source's gradient is the one the products differentiate.

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    scheme, step : optional
        Finite-difference options for a gradient callable (see
        :class:`~hessprobe.Gradient`).
    threads : int, optional
        Threads per product (default all cores); results do not depend on it.

    Returns
    -------
    HessianProduct
        A callable ``(x, p, *args) -> ndarray`` of shape (n,).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize, rosen, rosen_der
    >>> import hessprobe as hp
    >>> x0 = np.array([-1.2, 1.0, -1.2, 1.0])
    >>> res = minimize(rosen, x0, jac=rosen_der, method="trust-ncg",
    ...                hessp=hp.hessp(hp.functions.rosenbrock()))
    >>> bool(res.success), bool(np.allclose(res.x, 1.0, atol=1e-4))
    (True, True)
    """
    return HessianProduct(source, scheme, step, threads)


class HessianOperator(LinearOperator):  # type: ignore[misc]  # scipy is untyped
    """The Hessian H(x) of a gradient source at a fixed point, as a ``LinearOperator``.

    Symmetric, float64, shape (n, n).  ``matvec`` is one Hessian-vector product;
    ``matmat`` hands the whole block of k columns to the engine in one call, which runs it
    in passes of 8 dual lanes (built-ins) or 8-point blocks (vectorized gradients).
    ``rmatvec`` is ``matvec`` and the adjoint is the operator itself.  It works with
    :func:`scipy.sparse.linalg.eigsh`, ``cg``, ``minres`` and every other solver that
    takes a ``LinearOperator``.

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    x : array_like, shape (n,)
        The point (copied).
    scheme, step : optional
        Finite-difference options for a gradient callable.
    threads : int, optional
        Threads per product (default all cores; with ``executor``, per worker, default 1).
    executor : concurrent.futures.Executor, optional
        Compute the products of each ``matvec``/``matmat`` block on this executor's
        workers, rows shared out in runs of 8, bitwise as locally
        (:mod:`hessprobe.distributed`): worth it for wide blocks of an expensive
        gradient.  Source and x are sent once (scattered, with Dask).

    Attributes
    ----------
    x : ndarray
        The point (read-only).
    calls : int
        Calls into the engine so far (one per ``matvec`` or ``matmat``).
    products : int
        Hessian-vector products computed so far.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse.linalg import cg
    >>> import hessprobe as hp
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> H = hp.HessianOperator(hp.functions.quadratic(A), np.zeros(2))
    >>> H.matvec(np.array([1.0, 0.0]))
    array([4., 1.])
    >>> sol, info = cg(H, np.array([1.0, 2.0]), rtol=1e-12)
    >>> bool(np.allclose(A @ sol, [1.0, 2.0])), info
    (True, 0)
    """

    def __init__(
        self,
        source: Any,
        x: ArrayLike,
        *,
        scheme: Scheme | None = None,
        step: float | None = None,
        threads: int | None = None,
        executor: Executor | None = None,
    ) -> None:
        local = resolve(source, scheme, step).at(np.array(x, copy=True))
        check_all_finite(local.point, "x")
        self._prepared = attach(local, executor, source, scheme, step, threads)
        self.x = self._prepared.point
        self.x.flags.writeable = False
        n = self._prepared.n
        super().__init__(dtype=np.dtype(np.float64), shape=(n, n))
        self._threads = resolve_threads(threads)
        self.calls = 0
        self.products = 0

    def __repr__(self) -> str:
        n = self.shape[0]
        return f"<{n}x{n} hessprobe.HessianOperator of {self._prepared.source!r}>"

    def hvp(self, v: ArrayLike, out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """Return H v for one direction (n,) or k directions as rows (k, n), as ``hp.hvp``.

        Parameters
        ----------
        v : array_like, shape (n,) or (k, n)
            One direction, or k directions as rows.
        out : ndarray, shape of ``v``, optional
            Where to write the result, as in NumPy's ``out=`` (float64, C-contiguous,
            writeable, not overlapping ``x`` or ``v``); it is returned.  An iterative
            method that reuses it writes every product into the same memory
            (:doc:`/guide/memory`).

        Returns
        -------
        ndarray, shape of ``v``

        Examples
        --------
        >>> import numpy as np
        >>> import hessprobe as hp
        >>> H = hp.HessianOperator(hp.functions.rosenbrock(), np.zeros(4))
        >>> hv = np.empty(4)
        >>> H.hvp(np.ones(4), out=hv) is hv
        True
        >>> bool(np.array_equal(hv, H.matvec(np.ones(4))))
        True
        """
        hv = products(self._prepared, v, self._threads, out)
        self.calls += 1
        self.products += hv.size // self.shape[0]
        return hv

    def _products(self, block: Any) -> NDArray[np.float64]:
        # The engine takes directions as rows: (k, n) in, (k, n) out.
        rows, _ = as_directions(block, self.shape[0])
        return self.hvp(rows)

    def _matvec(self, v: NDArray[Any]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = self._products(np.ravel(v))[0]
        return out

    def _matmat(self, V: NDArray[Any]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = self._products(np.asarray(V).T).T
        return out

    def _rmatvec(self, v: NDArray[Any]) -> NDArray[np.float64]:
        return self._matvec(v)

    def _rmatmat(self, V: NDArray[Any]) -> NDArray[np.float64]:
        return self._matmat(V)

    def _adjoint(self) -> HessianOperator:
        return self

    def _transpose(self) -> HessianOperator:
        return self
