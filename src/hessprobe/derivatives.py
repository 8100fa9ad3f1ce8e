"""The derivative methods of a function object, shared by built-in and compiled functions.

A :class:`~hessprobe.functions.Function` and a :class:`~hessprobe.compiled.CompiledFunction`
both carry a gradient source with exact second derivatives; their methods are the top
level's functions applied to the object itself, so both take the same arguments
(``threads``, ``out``) and go through the same path as any other source.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import resolve_threads
from .dense import hessian
from .hvp import hvp
from .structured import hessian_diag

__all__ = ["Derivatives"]


class Derivatives:
    """The methods ``grad``, ``hvp``, ``hessian`` and ``hessian_diag`` of a function object.

    A subclass defines ``__hessprobe_source__()``: a source with a gradient kernel.
    """

    def __hessprobe_source__(self) -> Any:
        raise NotImplementedError

    def grad(self, x: ArrayLike, *, threads: int | None = None) -> NDArray[np.float64]:
        """Return the gradient g(x), shape (n,)."""
        out: NDArray[np.float64] = (
            self.__hessprobe_source__().at(x).gradient(resolve_threads(threads))
        )
        return out

    def hvp(
        self,
        x: ArrayLike,
        v: ArrayLike,
        *,
        threads: int | None = None,
        out: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Return exact Hessian-vector products H(x) v.

        Parameters
        ----------
        x : array_like, shape (n,)
            The point.
        v : array_like, shape (n,) or (k, n)
            One direction, or k directions as rows; k directions cost ceil(k / 8) passes
            over the gradient code, not k.
        threads : int, optional
            Threads to use; default all cores.  The result does not depend on it.
        out : ndarray, shape of ``v``, optional
            Written into and returned, as in NumPy (see :func:`hessprobe.hvp`).

        Returns
        -------
        ndarray, shape of ``v``
        """
        return hvp(self, x, v, threads=threads, out=out)

    def hessian(self, x: ArrayLike, *, threads: int | None = None) -> NDArray[np.float64]:
        """Return the dense Hessian, shape (n, n), exact (from columns H e_j)."""
        return hessian(self, x, threads=threads)  # type: ignore[no-any-return]

    def hessian_diag(
        self,
        x: ArrayLike,
        *,
        threads: int | None = None,
        out: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Return the exact Hessian diagonal, shape (n,).

        Banded Hessians (Rosenbrock: tridiagonal; separable functions: diagonal) need one
        pass of b + 1 directions whatever n; dense ones need n / 8 passes.  ``out``: as
        in :func:`hessprobe.hessian_diag`.
        """
        return hessian_diag(self, x, threads=threads, out=out)
