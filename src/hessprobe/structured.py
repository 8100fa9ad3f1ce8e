"""Exact Hessians and diagonals of known sparsity from a few coloured HVPs.

Columns of H that share no row (structurally orthogonal columns) can be summed into one
probe vector c: then (H c)_i = H_ij for the one column j of that group with a nonzero in
row i.  A colouring of the columns into such groups recovers every nonzero of H from one
HVP per colour (Curtis, Powell and Reid 1974):

* a Hessian of half-bandwidth b (H_ij = 0 for |i - j| > b): colour(j) = j mod (2b + 1),
  so 2b + 1 HVPs whatever n (tridiagonal Rosenbrock: 3);
* a given sparsity pattern: a greedy distance-2 colouring of its columns (two columns
  conflict when some row has a nonzero in both), as many HVPs as colours.

The recovery is exact for a built-in (dual numbers) and has the accuracy of the finite
differences for a gradient callable.

Examples
--------
>>> import numpy as np
>>> import hessprobe as hp
>>> f = hp.functions.rosenbrock()
>>> x = np.linspace(-1.0, 1.5, 100_000)
>>> col = hp.colouring(x.size, bandwidth=1)
>>> col.count                                   # HVPs needed, whatever n
3
>>> d = hp.hessian_diag(f, x, bandwidth=1)
>>> bool(np.array_equal(d, f.hessian_diag(x)))
True
"""

from __future__ import annotations

import numbers
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike, NDArray

from ._validation import as_point, resolve_threads
from .functions import Function
from .hvp import hvp
from .sources import Scheme, resolve

__all__ = ["Colouring", "colouring", "hessian_diag", "structured_hessian"]


@dataclass(frozen=True)
class Colouring:
    """A colouring of the n columns of a Hessian into structurally orthogonal groups.

    Attributes
    ----------
    colours : ndarray of int, shape (n,)
        Column j's colour, in 0 .. count - 1.
    count : int
        The number of colours: the number of HVPs a recovery costs.
    rows, cols : ndarray of int
        The pattern's nonzeros (i, j), both triangles and the diagonal included.
    """

    colours: NDArray[np.intp]
    count: int
    rows: NDArray[np.intp]
    cols: NDArray[np.intp]

    @property
    def size(self) -> int:
        """The dimension n."""
        return int(self.colours.shape[0])

    def probes(self) -> NDArray[np.float64]:
        """Return the probes as rows, shape (count, n): row c is the indicator of colour c."""
        P = np.zeros((self.count, self.size))
        P[self.colours, np.arange(self.size)] = 1.0
        return P

    def recover(self, HP: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the entries H[rows, cols] from the products HP = (H P')', shape (count, n)."""
        values: NDArray[np.float64] = HP[self.colours[self.cols], self.rows]
        return values


def _as_bandwidth(bandwidth: Any) -> int:
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, numbers.Integral):
        raise TypeError(f"bandwidth must be an integer, got {type(bandwidth).__name__}")
    b = operator.index(bandwidth)
    if b < 0:
        raise ValueError(f"bandwidth must be >= 0, got {b}")
    return b


def _pattern(sparsity: Any, n: int) -> scipy.sparse.csr_array:
    """Return the symmetric 0/1 pattern of ``sparsity`` with its diagonal, as CSR (n, n)."""
    if not scipy.sparse.issparse(sparsity):
        raise TypeError(f"sparsity must be a scipy.sparse matrix, got {type(sparsity).__name__}")
    if sparsity.shape != (n, n):
        raise ValueError(f"sparsity must have shape ({n}, {n}) (n = len(x)), got {sparsity.shape}")
    S = scipy.sparse.csr_array(sparsity, dtype=np.float64)
    S.data = np.ones_like(S.data)
    S = S + S.T + scipy.sparse.csr_array(scipy.sparse.identity(n, format="csr"))
    S = scipy.sparse.csr_array(S)
    S.sum_duplicates()
    S.sort_indices()
    return S


def _greedy_distance2(S: scipy.sparse.csr_array) -> NDArray[np.intp]:
    """Greedy colouring of the columns of the symmetric pattern S in natural order.

    Columns j and k conflict when a row holds a nonzero in both, i.e. (S S)_jk != 0
    (distance <= 2 in the graph of S); each column takes the smallest colour none of its
    coloured conflicts has.
    """
    n = S.shape[0]
    C = scipy.sparse.csr_array(S @ S)
    colours = np.full(n, -1, dtype=np.intp)
    indptr, indices = C.indptr, C.indices
    for j in range(n):
        taken = colours[indices[indptr[j] : indptr[j + 1]]]
        used = np.zeros(taken.max() + 2 if taken.size else 1, dtype=bool)
        used[taken[taken >= 0]] = True
        colours[j] = int(np.argmin(used))  # the first False
    return colours


def colouring(n: int, *, bandwidth: int | None = None, sparsity: Any = None) -> Colouring:
    """Return the colouring of a Hessian's columns for a bandwidth or a sparsity pattern.

    Parameters
    ----------
    n : int
        The dimension.
    bandwidth : int, optional
        Half-bandwidth b: H_ij = 0 for |i - j| > b.  Colour j mod (2b + 1): min(2b + 1, n)
        colours (Curtis, Powell and Reid).
    sparsity : scipy.sparse matrix, shape (n, n), optional
        Where H may be nonzero (its values are ignored; it is symmetrised and the
        diagonal added).  Greedy distance-2 colouring in column order.

    Returns
    -------
    Colouring

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse
    >>> import hessprobe as hp
    >>> hp.colouring(10, bandwidth=2).colours
    array([0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
    >>> arrow = scipy.sparse.lil_array((6, 6))       # x_0 couples to every other x_i
    >>> arrow[0, :] = 1
    >>> hp.colouring(6, sparsity=arrow).count         # dense column 0: no sharing
    6
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if (bandwidth is None) == (sparsity is None):
        raise ValueError("give exactly one of bandwidth= and sparsity=")
    if sparsity is None:
        b = _as_bandwidth(bandwidth)
        count = min(2 * b + 1, n)
        colours = np.arange(n, dtype=np.intp) % count
        offsets = np.arange(-min(b, n - 1), min(b, n - 1) + 1)
        rows_l, cols_l = [], []
        for d in offsets:
            i = np.arange(max(0, -d), min(n, n - d), dtype=np.intp)
            rows_l.append(i)
            cols_l.append(i + d)
        return Colouring(colours, int(count), np.concatenate(rows_l), np.concatenate(cols_l))
    S = _pattern(sparsity, n)
    colours = _greedy_distance2(S)
    coo = S.tocoo()
    return Colouring(
        colours,
        int(colours.max()) + 1,
        coo.row.astype(np.intp),
        coo.col.astype(np.intp),
    )


def _coloured_products(
    source: Any,
    x: ArrayLike,
    col: Colouring,
    scheme: Scheme | None,
    step: float | None,
    threads: int | None,
) -> tuple[NDArray[np.float64], bool]:
    """H P' for the colouring's probes, as rows (count, n); and whether they are exact."""
    from .dense import column_step  # dense imports this module

    src = resolve(source, scheme, step)
    t = resolve_threads(threads)
    if isinstance(src, Function):
        point = src._point(x)
        return src.hvp(point, col.probes(), threads=t), True
    point = as_point(x)
    # A coloured probe moves each of its coordinates like a unit vector: the unit step.
    h = src.step if src.step is not None else column_step(src.scheme, point)
    return hvp(source, point, col.probes(), scheme=src.scheme, step=h, threads=t), False


def _default_bandwidth(source: Any, n: int) -> int:
    """Return a built-in's own bandwidth, else n - 1 (every column: a dense Hessian)."""
    if isinstance(source, Function):
        b = int(source._core.bandwidth)
        if b >= 0:
            return b
    return n - 1


def hessian_diag(
    source: Any,
    x: ArrayLike,
    *,
    bandwidth: int | None = None,
    sparsity: Any = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    threads: int | None = None,
) -> NDArray[np.float64]:
    """Return the Hessian's diagonal from coloured HVPs: exact for a banded or sparse H.

    Uses ``colouring(n, bandwidth=..., sparsity=...).count`` HVPs: 2b + 1 for
    half-bandwidth b.  Without either, a built-in's own bandwidth is used (Rosenbrock 1,
    separable functions 0) and otherwise every column (n HVPs).

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    x : array_like, shape (n,)
        The point.
    bandwidth : int, optional
        Half-bandwidth of H.  A wrong (too small) one gives wrong entries silently:
        diag_i then also holds H_ij for the j != i of i's colour within reach.
    sparsity : scipy.sparse matrix, optional
        Where H may be nonzero, instead of ``bandwidth``.
    scheme, step : optional
        Finite-difference options for a callable source; the default step is the one for
        unit columns (:func:`hessprobe.dense.column_step`).
    threads : int, optional
        Threads for the HVPs.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import rosen_der, rosen_hess
    >>> import hessprobe as hp
    >>> x = np.linspace(-1.0, 1.5, 1000)
    >>> d = hp.hessian_diag(rosen_der, x, bandwidth=1)   # 3 HVPs, central differences
    >>> bool(np.abs(d - np.diag(rosen_hess(x))).max() < 1e-6 * np.abs(d).max())
    True
    """
    point = as_point(x, check_finite=False)
    n = int(point.shape[0])
    if bandwidth is None and sparsity is None:
        bandwidth = _default_bandwidth(source, n)
    col = colouring(n, bandwidth=bandwidth, sparsity=sparsity)
    HP, _ = _coloured_products(source, point, col, scheme, step, threads)
    diag: NDArray[np.float64] = HP[col.colours, np.arange(n)]
    return diag


def structured_hessian(
    source: Any,
    x: ArrayLike,
    *,
    bandwidth: int | None = None,
    sparsity: Any = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    threads: int | None = None,
) -> scipy.sparse.csr_array:
    """Return the banded or sparse Hessian as a ``scipy.sparse.csr_array`` (n, n).

    :func:`hessprobe.hessian` with ``bandwidth=`` or ``sparsity=`` calls this.  Uses
    ``colouring(...).count`` HVPs.  Entries outside the pattern are not stored.  For a
    built-in the entries are exact and not symmetrised; for a gradient callable they are
    finite differences and symmetrised, (H + H') / 2, as in the dense case.
    """
    point = as_point(x, check_finite=False)
    n = int(point.shape[0])
    col = colouring(n, bandwidth=bandwidth, sparsity=sparsity)
    HP, exact = _coloured_products(source, point, col, scheme, step, threads)
    H = scipy.sparse.csr_array((col.recover(HP), (col.rows, col.cols)), shape=(n, n))
    if not exact:
        H = scipy.sparse.csr_array((H + H.T) * 0.5)
    H.sort_indices()
    return H
