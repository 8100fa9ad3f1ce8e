"""Where the Hessian is nonzero: declared by the source, given, or detected from its code.

Every entry point that can use structure (:func:`hessprobe.hessian`,
:func:`hessprobe.hessian_diag`, the Hutchinson estimators) asks :func:`structure_of` once,
and it decides, in this order:

1. ``bandwidth=`` or a ``sparsity=`` pattern given by the caller;
2. ``sparsity="dense"``: no structure (every column);
3. the source's declared structure: a built-in's bandwidth from the core (Rosenbrock 1,
   the separable functions 0, the others dense), a compiled or tangent gradient's
   declared bandwidth;
4. a user's NumPy gradient: its pattern *detected* by one call on index-set tracers
   (:mod:`hessprobe.tracing`).  ``"global"`` patterns hold for every x and are cached
   per gradient function and n; where the code branches on values the detection falls
   back to the ``"local"`` pattern at this x (not cached);
5. otherwise (a native gradient, or NumPy code the tracer cannot follow): unknown, and
   the engines take the paths that need no structure.

Examples
--------
>>> import numpy as np
>>> from scipy.optimize import rosen_der
>>> import hessprobe as hp
>>> P = hp.hessian_pattern(rosen_der, np.zeros(6))       # traced from SciPy's NumPy code
>>> P.toarray().astype(int)
array([[1, 1, 0, 0, 0, 0],
       [1, 1, 1, 0, 0, 0],
       [0, 1, 1, 1, 0, 0],
       [0, 0, 1, 1, 1, 0],
       [0, 0, 0, 1, 1, 1],
       [0, 0, 0, 0, 1, 1]])
>>> hp.hessian_pattern(hp.functions.rosenbrock(), np.zeros(4)).nnz   # the core's band
10
"""

from __future__ import annotations

import numbers
import operator
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike

from . import tracing
from ._validation import check_memory
from .kinds.base import Prepared
from .sources import Scheme, prepare

__all__ = [
    "Mode",
    "Structure",
    "as_bandwidth",
    "band_pattern",
    "hessian_pattern",
    "normalized_pattern",
    "structure_of",
]

#: How a pattern is detected: "auto" (global, or local where the code branches on
#: values), "global" (valid for every x) or "local" (at this x).
Mode = Literal["auto", "global", "local"]
_MODES = ("auto", "global", "local")
#: The strings ``sparsity=`` takes besides a pattern: a detection mode, "dense", or
#: "declared" (what the source declares, no detection).
_SPARSITY_WORDS = (*_MODES, "dense", "declared")


def as_bandwidth(bandwidth: Any) -> int:
    """Return ``bandwidth`` as an int >= 0 (bools and floats are refused)."""
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, numbers.Integral):
        raise TypeError(f"bandwidth must be an integer, got {type(bandwidth).__name__}")
    b = operator.index(bandwidth)
    if b < 0:
        raise ValueError(f"bandwidth must be >= 0, got {b}")
    return b


def normalized_pattern(sparsity: Any, n: int) -> scipy.sparse.csr_array:
    """Return the symmetric 0/1 pattern of ``sparsity`` with its diagonal, as CSR (n, n).

    A pattern with entries in one triangle only gets the other (H is symmetric); one with
    entries in both is taken as it is, and the colouring refuses it (ValueError) unless
    it is symmetric.  Stored entries count whatever their value, zeros included.
    """
    if not scipy.sparse.issparse(sparsity):
        raise TypeError(f"sparsity= must be a scipy.sparse matrix, got {type(sparsity).__name__}")
    if len(sparsity.shape) != 2 or sparsity.shape[0] != sparsity.shape[1]:
        raise ValueError(f"sparsity= must be square with shape ({n}, {n}), got {sparsity.shape}")
    if sparsity.shape != (n, n):
        raise ValueError(f"sparsity= must have shape ({n}, {n}) (n = len(x)), got {sparsity.shape}")
    S = scipy.sparse.csr_array(sparsity, dtype=np.float64)
    S.sum_duplicates()  # and sorted indices: a row's first and last entries bound it
    S.data = np.ones_like(S.data)
    filled = np.flatnonzero(np.diff(S.indptr))
    upper = bool((S.indices[S.indptr[filled + 1] - 1] > filled).any())
    lower = bool((S.indices[S.indptr[filled]] < filled).any())
    if not (upper and lower):
        S = scipy.sparse.csr_array(S + S.T)  # one triangle (or a diagonal): the other implied
    # Both triangles: taken as given; the colouring checks that it is symmetric.
    if not (S.diagonal() != 0).all():
        S = scipy.sparse.csr_array(S + scipy.sparse.identity(n, format="csr"))
    S.sum_duplicates()
    S.sort_indices()
    return S


def band_pattern(n: int, b: int) -> scipy.sparse.csr_array:
    """Return the boolean pattern of the (n, n) band of half-width b, as CSR."""
    b = min(b, n - 1)
    check_memory(5 * ((2 * b + 1) * n), f"the band pattern of half-width {b} at n = {n}")
    offsets = list(range(-b, b + 1))
    ones = np.ones((len(offsets), n), dtype=bool)
    return scipy.sparse.csr_array(scipy.sparse.dia_array((ones, offsets), shape=(n, n)))


@dataclass(frozen=True, eq=False)
class Structure:
    """What is known of where H is nonzero, for one source and one n.

    Attributes
    ----------
    n : int
        The dimension.
    origin : {"bandwidth", "given", "declared", "global", "local", "dense", "unknown"}
        Where it comes from: the caller's ``bandwidth=`` or ``sparsity=``; the source's
        declaration (a built-in's core); a detected pattern, valid for every x
        (``"global"``) or at this x (``"local"``); ``"dense"`` (declared, detected or
        asked for); or nothing known (a native gradient, or code the tracer cannot
        follow: ``reason`` says why).
    bandwidth : int or None
        The half-bandwidth, for a band.
    pattern : scipy.sparse.csr_array or None
        The symmetric pattern, for one given or detected.
    reason : str
        Why the structure is unknown (the tracer's message), else "".
    """

    n: int
    origin: str
    bandwidth: int | None = None
    pattern: scipy.sparse.csr_array | None = None
    reason: str = ""

    @property
    def sparse(self) -> bool:
        """Whether it is a band or a pattern: something a colouring can use."""
        return self.bandwidth is not None or self.pattern is not None

    @property
    def exact_for_x_only(self) -> bool:
        """Whether it holds at this x only (a local pattern), so it must not be cached."""
        return self.origin == "local"

    def matrix(self) -> scipy.sparse.csr_array:
        """Return the pattern as a boolean CSR matrix (n, n); a dense one if it fits."""
        if self.pattern is not None:
            return scipy.sparse.csr_array(self.pattern, dtype=bool)
        if self.bandwidth is not None:
            return band_pattern(self.n, self.bandwidth)
        if self.origin == "unknown":
            raise TypeError(f"the Hessian's pattern is not known: {self.reason}")
        n = self.n
        check_memory(13 * n * n, f"the pattern of a dense Hessian at n = {n} (n^2 entries)")
        return scipy.sparse.csr_array(np.ones((n, n), dtype=bool))


#: Detected global patterns: gradient function -> {(vectorized, n, max_nonzeros): Structure}.
_DETECTED: weakref.WeakKeyDictionary[Callable[..., Any], dict[tuple[bool, int, int], Structure]]
_DETECTED = weakref.WeakKeyDictionary()


def _traced(fn: Callable[..., Any], vectorized: bool) -> Callable[..., Any]:
    """Return fn as a function of one point (n,) -> (n,) for the tracer."""
    if not vectorized:
        return fn
    return lambda t: np.reshape(fn(t[None, :]), t.shape)


def _detect(
    fn: Callable[..., Any], vectorized: bool, x: Any, mode: Mode, max_nonzeros: int, strict: bool
) -> Structure:
    """Detect the pattern of fn at x; a failure is raised when ``strict``, else unknown."""
    n = int(np.shape(x)[0])
    key = (vectorized, n, max_nonzeros)
    cache = _cache_of(fn)
    known = cache.get(key) if cache is not None and mode != "local" else None
    if known is not None and not (strict and known.origin == "unknown"):
        return known
    traced = _traced(fn, vectorized)
    modes: tuple[Literal["global", "local"], ...]
    modes = ("global", "local") if mode == "auto" else (mode,)
    for tried in modes:
        try:
            P = tracing.trace_pattern(traced, x, mode=tried, max_nonzeros=max_nonzeros)
        except tracing.TracingError:
            if tried == "global" and mode == "auto":
                continue  # control flow on values: the local pattern at x
            if strict:
                raise
            return Structure(n, "unknown", reason="the gradient branches on values")
        except TypeError as error:  # an operation the tracer does not support
            if strict:
                raise
            found = Structure(n, "unknown", reason=str(error))
            break
        found = Structure(n, "dense") if P is None else Structure(n, tried, pattern=P)
        break
    if cache is not None and not found.exact_for_x_only:
        cache[key] = found
    return found


def _cache_of(fn: Callable[..., Any]) -> dict[tuple[bool, int, int], Structure] | None:
    """Return the detected patterns of fn (None: it cannot be weakly referenced)."""
    try:
        return _DETECTED.setdefault(fn, {})
    except TypeError:
        return None


#: Index sets larger than this mark a row dense (:func:`hessprobe.tracing.trace_pattern`).
MAX_NONZEROS = tracing.DEFAULT_MAX_NONZEROS


def structure_of(
    prepared: Prepared,
    *,
    bandwidth: Any = None,
    sparsity: Any = None,
) -> Structure:
    """Return what is known of the structure of ``prepared``'s Hessian (see the module).

    ``sparsity`` is a scipy.sparse pattern; ``"dense"``; ``"declared"`` (only what the
    source declares: no detection); a detection mode, ``"global"`` or ``"local"`` (a
    detection that fails raises); or ``"auto"`` and None (detect, unknown when that
    fails).
    """
    n = prepared.n
    if bandwidth is not None:
        if sparsity is not None:
            raise ValueError("give at most one of bandwidth= and sparsity=")
        return Structure(n, "bandwidth", bandwidth=as_bandwidth(bandwidth))
    if sparsity is not None and not isinstance(sparsity, str):
        return Structure(n, "given", pattern=normalized_pattern(sparsity, n))
    if sparsity is not None and sparsity not in _SPARSITY_WORDS:
        raise ValueError(
            f"sparsity= must be a scipy.sparse pattern or one of {_SPARSITY_WORDS}, "
            f"got {sparsity!r}"
        )
    if sparsity == "dense":
        return Structure(n, "dense")
    source = prepared.source
    b = prepared.bandwidth
    if b is not None:
        return Structure(n, "declared", bandwidth=b)
    if source.structure_declared:
        return Structure(n, "dense")
    gradient = source.numpy_gradient()
    if gradient is None:
        if sparsity in ("global", "local"):
            raise TypeError(
                f"sparsity={sparsity!r}: {source!r} calls no NumPy gradient to trace; "
                "give its pattern as sparsity= (a scipy.sparse matrix) or bandwidth="
            )
        return Structure(n, "unknown", reason=f"{source!r} calls no NumPy gradient to trace")
    if sparsity == "declared":
        return Structure(n, "unknown", reason=f"{source!r} declares no structure")
    fn, vectorized = gradient
    strict = sparsity in ("global", "local")
    mode: Mode = "global" if sparsity == "global" else "local" if strict else "auto"
    return _detect(fn, vectorized, prepared.point, mode, MAX_NONZEROS, strict)


def hessian_pattern(
    source: Any,
    x: ArrayLike,
    *,
    mode: Mode = "auto",
    max_nonzeros: int | None = None,
    scheme: Scheme | None = None,
    step: float | None = None,
) -> scipy.sparse.csr_array:
    """Return where the Hessian of ``source`` may be nonzero, as a boolean CSR matrix (n, n).

    A built-in reports its pattern from the core (its band, or dense).  A user's NumPy
    gradient (a callable or :class:`~hessprobe.Gradient`, any scheme) is called once on
    an array of index-set tracers (:mod:`hessprobe.tracing`): entry (i, j) is in the
    pattern when g_i depends on x_j, symmetrised.  The result is cached per gradient
    function and n for the global pattern, which the structure-free
    :func:`~hessprobe.hessian` and :func:`~hessprobe.hessian_diag` then reuse.

    Parameters
    ----------
    source : Function, callable or Gradient
        A built-in or a NumPy gradient.  A native or compiled gradient has no code to
        trace: give its pattern to the engines as ``sparsity=`` (TypeError here).
    x : array_like, shape (n,)
        The point (a local pattern is the one at x; a global one holds for every x).
    mode : {"auto", "global", "local"}, optional
        ``"global"``: valid for every x; a comparison or branch on a traced value raises
        :class:`hessprobe.tracing.TracingError`.  ``"local"``: at x, following the
        branches x takes.  ``"auto"`` (default): global, or local where the code
        branches on values.
    max_nonzeros : int, optional
        A row whose index set grows past this many entries makes the Hessian dense
        (default :data:`hessprobe.tracing.DEFAULT_MAX_NONZEROS`); a dense pattern is
        returned only when its n^2 entries fit in memory (MemoryError otherwise).
    scheme, step : optional
        As for :func:`hessprobe.hvp` (they do not change the pattern).

    Returns
    -------
    scipy.sparse.csr_array of bool, shape (n, n)
        Symmetric, with sorted indices.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> def grad(x):                           # f = sum (x_i - x_{i+1})^4 + sum(x)^2
    ...     d = 4 * (x[:-1] - x[1:]) ** 3
    ...     g = 2 * np.sum(x) * np.ones_like(x)
    ...     g[:-1] += d
    ...     g[1:] -= d
    ...     return g
    >>> hp.hessian_pattern(grad, np.zeros(5)).nnz   # sum(x)^2 couples all: dense
    25
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    limit = MAX_NONZEROS if max_nonzeros is None else max_nonzeros
    prepared = prepare(source, x, scheme, step)
    gradient = prepared.source.numpy_gradient()
    if gradient is None:
        found = structure_of(prepared, sparsity="declared")
        if found.origin == "unknown":
            raise TypeError(
                f"{prepared.source!r} has no NumPy code to trace and declares no "
                "structure; give its pattern to hessian/hessian_diag as sparsity= or "
                "bandwidth="
            )
        return found.matrix()
    fn, vectorized = gradient
    return _detect(fn, vectorized, prepared.point, mode, limit, strict=True).matrix()
