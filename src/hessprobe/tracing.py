"""Sparsity detection: the Hessian pattern of a NumPy gradient, traced in one call.

The gradient is called with an array whose dtype is a *tracer* (``hessprobe._tracer``):
element i holds x_i and the index set {i}.  Every NumPy operation on it gives each
result the union of the index sets of the operands it depends on (with a nonzero
partial derivative: a constant factor 0 contributes nothing, and piecewise-constant
functions such as ``floor`` or ``sign`` give the empty set), so element i of the result
holds the columns of row i of the gradient's Jacobian: the Hessian's sparsity pattern.
The code runs unchanged, as on dual numbers (:mod:`hessprobe.kinds.dual`): the same
operations flow through (``np.asarray``, ``zeros_like``, slicing and assignment, ``roll``,
``reshape``, sums, ``@``/``np.dot`` with constant matrices, where only the columns with a
nonzero entry count, the elementary functions, ``scipy.special.expit``, ...).

Two modes, as SparseConnectivityTracer.jl distinguishes them
    ``mode="global"`` (the default) gives a pattern valid for every x.  Anything that
    needs a value raises :class:`TracingError`: comparisons (``x > 0``, hence
    ``np.where(x > 0, ...)``), ``isnan`` and the like, ``bool()`` (an ``if`` on an
    element), ``float()``, sorting, ``argmax``.  ``np.maximum``, ``np.minimum``,
    ``np.clip``, ``np.abs`` and ``np.max`` are fine: they take the union of both branches.
    ``mode="local"`` gives the pattern at this x: comparisons look at the values, and
    ``np.maximum``/``np.minimum``/``np.where`` take the set of the branch taken.

Capacity and cost
    An element holds at most C indices inline (C = 8, 32, 128 or 512: 16 + 4 C bytes an
    element); a set that would grow past C becomes "dense" (absorbing, O(1) from then
    on).  :func:`trace_pattern` tries C = 8 first and calls the gradient again with the
    next capacity only when a row of the result overflowed, up to ``max_nonzeros``: one
    call of the gradient per capacity tried, each about the time of a call on dual
    numbers of the same element size (a union of two sorted sets is a merge).  Past
    ``max_nonzeros`` the Hessian is reported dense (None): quickly, since dense sets
    cost nothing more, and in bounded memory.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike, NDArray

from . import _tracer
from ._validation import as_count, as_point, check_memory

__all__ = ["CAPACITIES", "DEFAULT_MAX_NONZEROS", "MODES", "TracingError", "trace_pattern"]

#: The capacities (indices an element holds inline) trace_pattern climbs.
CAPACITIES: tuple[int, ...] = tuple(_tracer.CAPACITIES)

#: Rows with more structural nonzeros than this make the pattern "dense" by default.
DEFAULT_MAX_NONZEROS = 128

#: The tracing modes.
MODES: tuple[str, ...] = ("global", "local")

#: Raised when traced code uses a value in ``mode="global"`` (a TypeError).
TracingError: type[TypeError] = _tracer.TracingError

#: Tracer arrays alive at once in a typical gradient: the input, the result and two
#: temporaries (what the memory check counts).
_ARRAYS_ALIVE = 4

_NOTE = (
    "hessprobe: the gradient {name!r} was called on tracer numbers (dtype {dtype}) to "
    "detect its Hessian's sparsity pattern; detection needs the NumPy operations the "
    "tracer supports (see hessprobe.tracing). Give the structure instead: sparsity= (a "
    "pattern) or bandwidth=."
)


@functools.cache
def _register_scipy_special() -> None:
    """Add the tracer loops of scipy.special's expit, log_expit and erf (once)."""
    import scipy.special

    _tracer.register_special(scipy.special)


def _element_size(capacity: int) -> int:
    return int(_tracer.dtype(capacity, False).itemsize)


def _ladder(n: int, max_nonzeros: int) -> list[int]:
    """Return the capacities to try: up to the first that holds min(max_nonzeros, n)."""
    need = min(max_nonzeros, n)
    return [c for c in CAPACITIES if c < need] + [next(c for c in CAPACITIES if c >= need)]


def _name(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__name__", repr(fn)))


def _traced_pattern(
    fn: Callable[..., Any],
    point: NDArray[np.float64],
    capacity: int,
    local: bool,
    args: Sequence[Any],
) -> tuple[NDArray[np.int64], NDArray[np.int32]] | None:
    """Return the symmetric CSR pattern of fn's result on tracers, or None if one overflowed."""
    token = _tracer.reuse_begin()  # NumPy reuses the temporaries' memory during the call
    try:
        X = _tracer.seed(point, capacity, local)
        X.flags.writeable = False
        try:
            raw = fn(X, *args)
        except TypeError as error:  # TracingError says what to do in its message
            if not isinstance(error, TracingError) and hasattr(error, "add_note"):
                error.add_note(_NOTE.format(name=_name(fn), dtype=X.dtype))  # Python >= 3.11
            raise
        G = _checked(fn, raw, X)
        if G.dtype != X.dtype:  # constant: the Hessian is zero
            n = point.shape[0]
            return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32)
        rows: tuple[NDArray[np.int64], NDArray[np.int32]] | None = _tracer.pattern(G)
        del X, G, raw
        return rows
    finally:
        _tracer.reuse_end(token)


def _checked(fn: Callable[..., Any], raw: Any, X: NDArray[Any]) -> NDArray[Any]:
    """Return fn's result as an array of X's shape, of X's dtype or a real one."""
    if raw is None:
        raise TypeError(
            f"the gradient {_name(fn)!r} returned None; expected an array of shape {X.shape}"
        )
    G = np.asarray(raw)
    if G.dtype != X.dtype and G.dtype.kind not in "biuf":
        raise TypeError(
            f"the gradient {_name(fn)!r} returned an array of dtype {G.dtype} on tracer input "
            f"of dtype {X.dtype}; expected that dtype (or a real one: a gradient that does not "
            "depend on x)"
        )
    if G.shape != X.shape:
        raise ValueError(
            f"the gradient {_name(fn)!r} returned an array of shape {G.shape}; expected {X.shape}"
        )
    return G


def trace_pattern(
    fn: Callable[..., Any],
    x: ArrayLike,
    *,
    mode: Literal["global", "local"] = "global",
    max_nonzeros: int = DEFAULT_MAX_NONZEROS,
    args: Sequence[Any] = (),
) -> scipy.sparse.csr_array | None:
    """Detect the sparsity pattern of the Hessian of f from its NumPy gradient.

    ``fn(x, *args)`` is called on an array of tracer numbers (element i seeded with
    the index set {i}), once per capacity tried (8, then 32, 128, 512 indices an
    element, while a row overflows and the capacity is below ``max_nonzeros``).

    Parameters
    ----------
    fn : callable
        The gradient, ``fn(x, *args) -> (n,)``, written with NumPy operations.
    x : array_like, shape (n,)
        The point (finite).  A global pattern does not depend on it; a local one holds
        at x, where comparisons and branches are decided.
    mode : {"global", "local"}
        ``"global"``: valid for every x; control flow on values raises
        :class:`TracingError`.  ``"local"``: at x, the branches taken.
    max_nonzeros : int
        Rows with more structural nonzeros make the result None (dense); at most
        ``CAPACITIES[-1]`` (512).
    args : sequence
        Extra positional arguments of ``fn``.

    Returns
    -------
    scipy.sparse.csr_array or None
        The symmetric boolean pattern, shape (n, n), sorted indices (the union of the
        gradient's Jacobian pattern with its transpose); None if dense (a row past
        ``max_nonzeros``).

    Raises
    ------
    TracingError
        In ``mode="global"``, when fn uses a value (a comparison, ``bool()``, ...).
    TypeError
        When fn uses an operation the tracer does not support (the error gains a note),
        or returns something that is not an array of the tracer dtype or a real one.
    ValueError
        For a bad ``mode`` or ``max_nonzeros``, a bad x, or a result of another shape.
    MemoryError
        Up front, when even the first capacity's arrays cannot fit (naming n).

    Notes
    -----
    Cost: one call of fn per capacity tried, each on elements of 16 + 4 C bytes (48 for
    C = 8: the size of a dual number of 5 lanes); a row pattern of up to 8 entries (a
    tridiagonal or 5-point stencil Hessian) takes one call.  A capacity past the first
    that cannot fit in memory makes the result None, as a row past ``max_nonzeros``.
    Exceptions raised by fn itself reach the caller unchanged (a ``TypeError``, which
    is also what an unsupported operation raises, gains a note).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import rosen_der
    >>> from hessprobe.tracing import trace_pattern
    >>> P = trace_pattern(rosen_der, np.zeros(5))
    >>> P.toarray().astype(int)
    array([[1, 1, 0, 0, 0],
           [1, 1, 1, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 1, 1, 1],
           [0, 0, 0, 1, 1]])
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'global' or 'local', got {mode!r}")
    limit = as_count(max_nonzeros, "max_nonzeros")
    if limit > CAPACITIES[-1]:
        raise ValueError(f"max_nonzeros must be <= {CAPACITIES[-1]}, got {limit}")
    point = as_point(x)
    n = point.shape[0]
    args = tuple(args)
    ladder = _ladder(n, limit)
    size = _element_size(ladder[0])
    check_memory(
        _ARRAYS_ALIVE * size * n,
        f"trace_pattern at n = {n} ({_ARRAYS_ALIVE} tracer arrays of {size} bytes an element)",
    )
    _register_scipy_special()
    local = mode == "local"
    try:
        for capacity in ladder:
            if capacity != ladder[0] and not _fits(capacity, n):
                return None  # treated as dense: a row holds more than the last capacity
            rows = _traced_pattern(fn, point, capacity, local, args)
            if rows is not None:
                return _csr(n, rows, limit)
        return None
    finally:
        _tracer.release_cache()


def _fits(capacity: int, n: int) -> bool:
    try:
        check_memory(_ARRAYS_ALIVE * _element_size(capacity) * n, f"capacity {capacity}")
    except MemoryError:
        return False
    return True


def _csr(
    n: int, rows: tuple[NDArray[np.int64], NDArray[np.int32]], limit: int
) -> scipy.sparse.csr_array | None:
    """Return the boolean CSR array of the pattern, or None if a row exceeds ``limit``."""
    indptr, indices = rows
    if int(np.diff(indptr).max()) > limit:
        return None
    P = scipy.sparse.csr_array(
        (np.ones(indices.shape[0], dtype=bool), indices, indptr), shape=(n, n)
    )
    P.has_sorted_indices = True  # the tracer's sets are sorted
    return P
