"""Exact Hessians and diagonals of known sparsity from a few coloured HVPs.

Columns of H that share no row (structurally orthogonal columns) can be summed into one
probe vector c: then (H c)_i = H_ij for the one column j of that group with a nonzero in
row i.  A colouring of the columns into such groups recovers every nonzero of H from one
HVP per colour (Curtis, Powell and Reid 1974):

* a Hessian of half-bandwidth b (H_ij = 0 for |i - j| > b): colour(j) = j mod (2b + 1),
  so 2b + 1 HVPs whatever n (tridiagonal Rosenbrock: 3); its diagonal alone needs only
  j mod (b + 1), b + 1 HVPs (columns of one colour are then more than b apart, so none
  of them has a nonzero in another's diagonal row);
* a given sparsity pattern: a star colouring in the C++ core (Gebremedhin, Tarafdar,
  Manne and Pothen 2007), as many HVPs as colours.  Star colouring asks less than
  structural orthogonality: adjacent columns differ and every path on 4 vertices of the
  pattern's graph has 3 colours, so any two colours make stars.  Each off-diagonal
  H_ij is read from the product of the colour of its star's hub h (at the other end's
  row: that leaf has no other neighbour of colour(h)), each H_ii from its own colour's.
  On a 2-D 5-point grid 6 colours rather than 7 (5 visiting the columns in natural
  order), on a 3-D 7-point grid 11 rather than 13, on an arrowhead (x_0 coupled to
  all) 2 rather than n.  The greedy distance-2 colouring of the columns (two columns
  conflict when some row has a nonzero in both; Curtis, Powell and Reid) stays
  available as ``method="distance-2"``.

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
import weakref
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._validation import check_memory, check_out, resolve_threads
from .distributed import attach
from .kinds.base import Prepared
from .progress import Progress, reporter
from .sources import Scheme, prepare
from .sparsity import Structure, as_bandwidth, normalized_pattern, structure_of

__all__ = [
    "Colouring",
    "colour_classes_of",
    "coloured_products",
    "colouring",
    "colouring_of",
    "hessian_diag",
    "recovered_hessian",
    "structured_diagonal",
]

_F64 = NDArray[np.float64]

#: Colours (HVPs) per engine call when a recovery has many: bounds the memory to
#: 2 x this x n values (the probes and their products).
COLOUR_BLOCK = 64


@dataclass(frozen=True)
class Colouring:
    """A colouring of the n columns of a Hessian, with where to read each entry.

    Every nonzero H_ij (entry k: ``rows[k], cols[k]``) is read from the HVP with the
    indicator of colour ``colours[hubs[k]]``, at row ``rows[k] + cols[k] - hubs[k]`` (the
    end of the entry that is not the hub).  For a band or a distance-2 colouring the hub
    is the column (``hubs is cols``): the columns of one colour share no row.  For a
    star colouring it is the hub of the two-coloured star that holds edge i - j (the
    smaller end for a star of one edge), so H_ij and H_ji are one product entry.

    Attributes
    ----------
    colours : ndarray of int, shape (n,)
        Column j's colour, in 0 .. count - 1.
    count : int
        The number of colours: the number of HVPs a recovery costs.
    rows, cols : ndarray of int
        The pattern's nonzeros (i, j), both triangles and the diagonal included (in
        row-major order for a sparsity pattern).
    hubs : ndarray of int
        Per nonzero, the end (``rows[k]`` or ``cols[k]``) whose colour's HVP holds it.
    method : {"band", "distance-2", "star"}
        How the colours were chosen.
    """

    colours: NDArray[np.intp]
    count: int
    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    hubs: NDArray[np.integer[Any]]
    method: str

    @property
    def size(self) -> int:
        """The dimension n."""
        return int(self.colours.shape[0])

    def probes(self) -> NDArray[np.float64]:
        """Return the probes as rows, shape (count, n): row c is the indicator of colour c."""
        P = np.zeros((self.count, self.size))
        P[self.colours, np.arange(self.size)] = 1.0
        return P

    def reads(self) -> tuple[NDArray[np.intp], NDArray[np.integer[Any]]]:
        """Return (colour, row) per nonzero: H[rows[k], cols[k]] = (H P_colour)[row]."""
        owner = self.colours[self.hubs]
        if self.hubs is self.cols:
            return owner, self.rows
        at: NDArray[np.integer[Any]] = self.rows + self.cols - self.hubs
        return owner, at

    def recover(self, HP: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the entries H[rows, cols] from the products HP = (H P')', shape (count, n)."""
        owner, at = self.reads()
        values: NDArray[np.float64] = HP[owner, at]
        return values


def _band_entries(n: int, b: int) -> int:
    """Return the number of entries of an (n, n) band of half-width b < n."""
    return (2 * b + 1) * n - b * (b + 1)


def _greedy_distance2(S: scipy.sparse.csr_array) -> NDArray[np.intp]:
    """Greedy colouring of the columns of the symmetric pattern S in natural order.

    Columns j and k conflict when a row holds a nonzero in both, i.e. (S S)_jk != 0
    (distance <= 2 in the graph of S); each column takes the smallest colour none of its
    coloured conflicts has.
    """
    n = S.shape[0]
    # (S S) has at most sum_i deg_i^2 entries (before merging): 12 bytes each, twice.
    degrees = np.diff(S.indptr).astype(np.float64)
    check_memory(int(24 * float(degrees @ degrees)), f"sparsity= (with {S.nnz} entries)")
    C = scipy.sparse.csr_array(S @ S)
    colours = np.full(n, -1, dtype=np.intp)
    indptr, indices = C.indptr, C.indices
    for j in range(n):
        taken = colours[indices[indptr[j] : indptr[j + 1]]]
        used = np.zeros(taken.max() + 2 if taken.size else 1, dtype=bool)
        used[taken[taken >= 0]] = True
        colours[j] = int(np.argmin(used))  # the first False
    return colours


#: How ``sparsity=`` is coloured: star colouring (the default) or distance-2.
Method = Literal["star", "distance-2"]
#: The order in which the greedy star colouring visits the columns.
Order = Literal["natural", "largest-first", "smallest-last"]
_METHODS = ("star", "distance-2")
_ORDERS = ("natural", "largest-first", "smallest-last")


def _star(
    S: scipy.sparse.csr_array, order: str, hubs: bool = True
) -> tuple[NDArray[np.intp], NDArray[np.integer[Any]] | None, int]:
    """Star colouring of the symmetric CSR pattern S in the core: (colours, hubs, count).

    The hubs keep the dtype of S's indices (int32 up to 2^31 entries); None unless
    ``hubs``.
    """
    # The entries' rows, columns, hubs, reads and values: about 48 bytes each.
    check_memory(48 * S.nnz, f"sparsity= (with {S.nnz} entries)")
    colours, entry_hubs, count = _core.star_colouring(S.indptr, S.indices, order, hubs)
    return colours.astype(np.intp, copy=False), entry_hubs, int(count)


def colouring(
    n: int,
    *,
    bandwidth: int | None = None,
    sparsity: Any = None,
    method: Method = "star",
    order: Order = "smallest-last",
) -> Colouring:
    """Return the colouring of a Hessian's columns for a bandwidth or a sparsity pattern.

    Parameters
    ----------
    n : int
        The dimension.
    bandwidth : int, optional
        Half-bandwidth b: H_ij = 0 for |i - j| > b.  Colour j mod (2b + 1): min(2b + 1, n)
        colours (Curtis, Powell and Reid).
    sparsity : scipy.sparse matrix, shape (n, n), optional
        Where H may be nonzero (its values are ignored; the diagonal is added).  Either
        symmetric, or one triangle (the other is implied); anything else is a
        ValueError.
    method : {"star", "distance-2"}, optional
        For ``sparsity``: star colouring with direct recovery in the C++ core (default;
        Gebremedhin, Tarafdar, Manne and Pothen 2007, Algorithm 4.1), linear time for a
        pattern of bounded degree; or the greedy distance-2 colouring of the columns in
        natural order (a column per colour for a dense row), kept as the reference.
        Star colouring allows columns two apart through a star's leaf to share a
        colour, so it often needs far fewer; where the greedy star colouring would
        have more colours than the distance-2 one (a 2-D 9-point stencil: 11 against
        9) the core returns the distance-2 colouring, a star colouring too, so
        ``"star"`` never has more colours.
    order : {"natural", "largest-first", "smallest-last"}, optional
        The order in which the star colouring visits the columns: column order; by
        decreasing degree; or smallest-last (the reverse of repeatedly removing a
        column of smallest degree: Matula and Beck), the default.

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
    >>> hp.colouring(6, sparsity=arrow).count         # star colouring: x_0 and the rest
    2
    >>> hp.colouring(6, sparsity=arrow, method="distance-2").count   # no column shares
    6
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if (bandwidth is None) == (sparsity is None):
        raise ValueError("give exactly one of bandwidth= and sparsity=")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if order not in _ORDERS:
        raise ValueError(f"order must be one of {_ORDERS}, got {order!r}")
    if sparsity is None:
        b = min(as_bandwidth(bandwidth), n - 1)
        count = min(2 * b + 1, n)
        colours = np.arange(n, dtype=np.intp) % count
        check_memory(24 * _band_entries(n, b), f"bandwidth={bandwidth} (with x of length n={n})")
        rows_l, cols_l = [], []
        for d in range(-b, b + 1):
            i = np.arange(max(0, -d), min(n, n - d), dtype=np.intp)
            rows_l.append(i)
            cols_l.append(i + d)
        cols = np.concatenate(cols_l)
        return Colouring(colours, count, np.concatenate(rows_l), cols, cols, "band")
    S = normalized_pattern(sparsity, n)
    colours, count, hubs = _sparse_colours(S, method, order)
    coo = S.tocoo()
    rows, cols = coo.row.astype(np.intp), coo.col.astype(np.intp)
    return Colouring(colours, count, rows, cols, cols if hubs is None else hubs, method)


def _sparse_colours(
    S: scipy.sparse.csr_array, method: str, order: str, hubs: bool = True
) -> tuple[NDArray[np.intp], int, NDArray[np.integer[Any]] | None]:
    """Colour a normalized pattern S: (colours, count, hubs or None for columns).

    The hubs are left out (None) when not ``hubs``.
    """
    if method == "star":
        colours, entry_hubs, count = _star(S, order, hubs)
        return colours, count, entry_hubs
    if (S != S.T).nnz:
        raise ValueError("sparsity= must be symmetric (or one triangle)")
    colours = _greedy_distance2(S)
    return colours, int(colours.max()) + 1, None


#: The columns of one colour: a slice (a band's colours are periodic) or an index array.
Columns = slice | NDArray[np.intp]


def colour_classes(colours: NDArray[np.intp], count: int) -> list[Columns]:
    """Return the columns of each colour 0 .. count - 1, in column order."""
    # A stable sort of 16-bit keys is a radix sort in NumPy: linear time.
    keys = colours.astype(np.int16) if count <= np.iinfo(np.int16).max else colours
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(colours[order], np.arange(count + 1))
    return [order[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]


def band_classes(n: int, b: int) -> list[Columns]:
    """Return the colour classes of a band's diagonal: colour c holds columns c, c + b + 1, ...

    Two columns of a colour are more than b apart: neither couples to the other's row.
    """
    count = min(b + 1, n)
    return [slice(c, None, count) for c in range(count)]


def coloured_products(
    prepared: Prepared,
    classes: list[Columns],
    threads: int,
    block: int,
    progress: Progress = None,
) -> Iterator[tuple[int, _F64]]:
    """Yield (first, HP) for the colours in runs of ``block``: HP = (H P')' of their probes.

    Row c of HP is H times the indicator of colour ``first + c`` (its columns in
    ``classes``); the products are those for unit-like directions
    (:meth:`~hessprobe.kinds.base.Prepared.unit_hvp`), and the memory is O(block x n)
    however many colours there are.  ``progress`` hears of the colours done after each
    run of them is used.
    """
    with reporter(progress, len(classes), "colours") as report:  # closed if the run stops
        for first in range(0, len(classes), block):
            run = classes[first : first + block]
            P = np.zeros((len(run), prepared.n))
            for row, cols in zip(P, run):
                row[cols] = 1.0
            yield first, prepared.unit_hvp(P, threads)
            report(first + len(run))
        report.finish()


def kernel_done(progress: Progress, total: int) -> None:
    """Report a recovery that a kind's own kernel did in one call: ``(total, total)``."""
    reporter(progress, total, "columns").finish()


def _diagonal(prepared: Prepared, classes: list[Columns], threads: int, progress: Progress) -> _F64:
    """diag(H) from the coloured products: d_j = (H P_colour(j))_j."""
    diag = np.empty(prepared.n)
    for first, HP in coloured_products(prepared, classes, threads, COLOUR_BLOCK, progress):
        for row, cols in zip(HP, classes[first:]):
            diag[cols] = row[cols]
    return diag


def _half_bandwidth(S: scipy.sparse.csr_array) -> int:
    """Return the largest |i - j| over the entries of the CSR pattern S."""
    rows = np.repeat(np.arange(S.shape[0]), np.diff(S.indptr))
    return int(np.abs(S.indices - rows).max(initial=0))


#: The colourings of the structures in use (a structure is cached per source and n by
#: :mod:`hessprobe.sparsity`, so its colouring is computed once): structure -> colouring.
_COLOURINGS: weakref.WeakKeyDictionary[Structure, Colouring] = weakref.WeakKeyDictionary()
_CLASSES: weakref.WeakKeyDictionary[Structure, list[Columns]] = weakref.WeakKeyDictionary()


def _band_pays(S: scipy.sparse.csr_array, b: int) -> bool:
    """Whether the band's diagonal colouring (b + 1 colours) needs no more than a row's entries.

    No colouring of the columns that reads H directly needs fewer than the largest
    row's entries for the diagonal's structurally orthogonal groups; a band that tight
    is taken without running the star colouring.
    """
    return b + 1 <= int(np.diff(S.indptr).max(initial=1))


def colour_classes_of(structure: Structure) -> list[Columns]:
    """Return the colour classes that recover diag(H) for a band or pattern (cached)."""
    cached = _CLASSES.get(structure)
    if cached is not None:
        return cached
    n = structure.n
    if structure.bandwidth is not None:
        classes = band_classes(n, min(structure.bandwidth, n - 1))
    else:
        S = normalized_pattern(structure.pattern, n)
        b = _half_bandwidth(S)
        if _band_pays(S, b):
            classes = band_classes(n, min(b, n - 1))
        else:
            colours, count, _ = _sparse_colours(S, "star", "smallest-last", hubs=False)
            classes = colour_classes(colours, count)
            if min(b + 1, n) < count:
                classes = band_classes(n, min(b, n - 1))
    _CLASSES[structure] = classes
    return classes


def colouring_of(structure: Structure) -> Colouring:
    """Return the colouring that recovers every entry of a band or pattern (cached)."""
    cached = _COLOURINGS.get(structure)
    if cached is None:
        if structure.bandwidth is not None:
            cached = colouring(structure.n, bandwidth=structure.bandwidth)
        else:
            cached = colouring(structure.n, sparsity=structure.pattern)
        _COLOURINGS[structure] = cached
    return cached


def hessian_diag(
    source: Any,
    x: ArrayLike,
    *,
    bandwidth: int | None = None,
    sparsity: Any = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    threads: int | None = None,
    progress: Progress = None,
    executor: Executor | None = None,
    out: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Return the Hessian's diagonal from coloured HVPs: exact for a banded or sparse H.

    With no structure given, the source's own is used (:mod:`hessprobe.sparsity`): a
    built-in's band from the core; for a user's NumPy gradient, its pattern detected by
    one call on index-set tracers (cached per gradient and n).  Each colour of the band
    or pattern costs one HVP (b + 1 for half-bandwidth b: 2 for a tridiagonal H,
    whatever n), in passes of up to 8 colours for exact sources (one call of a dual
    gradient per 8 colours).  A Hessian that is dense, or whose structure cannot be
    known (a native gradient, NumPy code the tracer cannot follow), takes every column
    (n HVPs).  Memory: the colours' products, at most 64 at a time (O(64 n)).

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    x : array_like, shape (n,)
        The point.
    bandwidth : int, optional
        Half-bandwidth of H.  A wrong (too small) one gives wrong entries silently:
        diag_i then also holds H_ij for the j != i of i's colour within reach.
    sparsity : scipy.sparse matrix or {"auto", "global", "local", "dense"}, optional
        Where H may be nonzero, instead of ``bandwidth``: symmetric, or one triangle,
        coloured by star colouring in the core (:func:`colouring`).  Or how to find it:
        ``"global"``/``"local"`` detect it in that mode and raise if that fails,
        ``"auto"`` (the default, None) detects and falls back to every column,
        ``"dense"`` takes every column without looking.
    scheme, step : optional
        Finite-difference options for a callable source; the default step is the one for
        unit columns (:func:`hessprobe.dense.column_step`).
    threads : int, optional
        Threads for the HVPs.
    progress : bool or callable, optional
        ``True`` for a bar, or ``progress(done, total)`` with the colours (HVPs) done
        after each block of them (:mod:`hessprobe.progress`).
    executor : concurrent.futures.Executor, optional
        Compute each block's coloured HVPs on this executor's workers, bitwise as
        locally (:mod:`hessprobe.distributed`); ``threads`` is then per worker.  A
        built-in's own diagonal kernel (no ``bandwidth``/``sparsity``) is one core call
        and runs in the caller.
    out : ndarray, shape (n,), optional
        Where to write the diagonal (float64, C-contiguous, writeable, not overlapping
        ``x``), as in NumPy's ``out=``; it is returned.  A built-in's own kernel writes
        into it directly (reused memory instead of fresh pages, :doc:`/guide/memory`);
        the other paths compute the diagonal and copy it.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import rosen_der, rosen_hess
    >>> import hessprobe as hp
    >>> x = np.linspace(-1.0, 1.5, 1000)
    >>> d = hp.hessian_diag(rosen_der, x, scheme="dual")  # tridiagonal detected: 2 HVPs
    >>> bool(np.allclose(d, np.diag(rosen_hess(x)), rtol=1e-14, atol=0))
    True
    >>> d = hp.hessian_diag(rosen_der, x, bandwidth=1)    # central differences
    >>> bool(np.abs(d - np.diag(rosen_hess(x))).max() < 1e-6 * np.abs(d).max())
    True
    """
    local = prepare(source, x, scheme, step)
    if out is not None:
        inputs = (local.point,) + ((x,) if isinstance(x, np.ndarray) else ())
        out = check_out(out, (local.n,), inputs)
    structure = structure_of(local, bandwidth=bandwidth, sparsity=sparsity)
    prepared = attach(local, executor, source, scheme, step, threads)
    return structured_diagonal(prepared, structure, resolve_threads(threads), progress, out)


def structured_diagonal(
    prepared: Prepared,
    structure: Structure,
    threads: int,
    progress: Progress,
    out: _F64 | None = None,
) -> _F64:
    """Return diag(H) for a structure: by the kind's own kernel, colours, or columns.

    A declared (or dense) structure uses the kind's kernel when it has one; a band or
    pattern its colours; anything else every column.  Written into ``out`` (checked)
    when given.
    """
    n = prepared.n
    if structure.origin in ("declared", "dense"):
        own = prepared.diagonal_kernel(threads, out)
        if own is not None:
            b = structure.bandwidth
            kernel_done(progress, n if b is None else min(b + 1, n))
            return own
    classes = colour_classes_of(structure) if structure.sparse else band_classes(n, n - 1)
    diag = _diagonal(prepared, classes, threads, progress)
    if out is None:
        return diag
    np.copyto(out, diag)
    return out


def recovered_hessian(
    prepared: Prepared, structure: Structure, threads: int, progress: Progress
) -> scipy.sparse.csr_array:
    """Return the entries of a band or pattern from coloured HVPs, as CSR (n, n)."""
    n = prepared.n
    col = colouring_of(structure)
    values = np.empty(col.rows.shape[0])
    # Entry k is row at[k] of the product of colour owner[k] (its star's hub's colour).
    owner, at = col.reads()
    classes = colour_classes(col.colours, col.count)
    for first, HP in coloured_products(prepared, classes, threads, COLOUR_BLOCK, progress):
        if HP.shape[0] == col.count:  # every colour in one run
            values = HP[owner, at]
            continue
        k = np.flatnonzero((owner >= first) & (owner < first + HP.shape[0]))
        values[k] = HP[owner[k] - first, at[k]]
    if col.method == "band":
        H = scipy.sparse.csr_array((values, (col.rows, col.cols)), shape=(n, n))
    else:  # the entries of a pattern are in its CSR order: rows, then sorted columns
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(col.rows, minlength=n), out=indptr[1:])
        H = scipy.sparse.csr_array((values, col.cols, indptr), shape=(n, n))
    # A star colouring reads H_ij and H_ji from one product entry: symmetric already.
    if not prepared.exact and col.method != "star":
        H = scipy.sparse.csr_array((H + H.T) * 0.5)
    H.sort_indices()
    return H
