"""Exact HVPs of the user's own NumPy gradient: one call on dual numbers per 8 directions.

The gradient is called with an array whose dtype is dual (``hessprobe._dual``): each
element holds x_i and K tangent lanes seeded with the directions, x_i + eps_k v_ki.  Its
NumPy code runs unchanged on it (``np.asarray``, ``zeros_like``, slicing, ``@``, sums,
``exp``, ...), every operation carrying the lanes by the chain rule, so lane k of the
result is H(x) v_k exactly (to rounding), for K directions in one pass.

What flows through
    ``np.asarray``, ``zeros_like``/``empty_like``/``ones_like``/``full_like``, indexing,
    slices, boolean and integer indexing, assignment (``g[1:-1] = ...``, ``g[0] = ...``,
    ``g[idx] += ...``), ``reshape``, ``.T``, broadcasting, ``concatenate``, ``stack``,
    ``roll``, ``diff``, ``cumsum``, ``cumprod``, ``outer``, ``where``, ``clip``, ``pad``,
    ``sort``, ``np.dot``/``@``/``inner``/``tensordot`` (with constant float64 matrices
    too), ``sum``/``mean``/``prod``/``max``/``min``/``var``/``std`` (with axes),
    ``linalg.norm``; the arithmetic operators and ``**``; ``exp``, ``exp2``, ``expm1``,
    ``log``, ``log2``, ``log10``, ``log1p``, ``sqrt``, ``cbrt``, ``square``,
    ``reciprocal``, ``sin``, ``cos``, ``tan``, ``arcsin``, ``arccos``, ``arctan``,
    ``arctan2``, ``hypot``, ``sinh``, ``cosh``, ``tanh``, ``arcsinh``, ``arccosh``,
    ``arctanh``, ``abs``, ``sign``, ``floor``/``ceil``/``rint``/``trunc``, ``maximum``,
    ``minimum``, ``fmax``, ``fmin``, ``logaddexp``, comparisons, ``isfinite``/``isnan``;
    ``scipy.special.expit``, ``log_expit`` and ``erf``.  Comparisons and branches look
    at the values (the derivative of the branch taken at x).

What raises ``TypeError``
    Any other ufunc (NumPy's "did not contain a loop with signature matching types"),
    ``np.einsum`` (NumPy has no einsum for user dtypes), ``np.linalg`` solvers,
    ``scipy.special.logsumexp`` (SciPy's array-API checks know only NumPy's dtypes;
    write ``m + np.log(np.sum(np.exp(x - m)))``), and every
    conversion that would drop the lanes: ``float(d)``, ``d.astype(float)``,
    ``np.asarray(d, dtype=float)``, writing a dual into a float64 array (one made by
    ``np.zeros(n)`` or ``np.empty(n)``: use ``np.zeros_like(x)``).  The error keeps its
    message and gains a note pointing to the finite-difference schemes.

Memory layout: an element is its value and K lanes side by side (K + 1 doubles: what a
NumPy dtype allows), so every operation moves 9x the bytes of the float64 one for K = 8
and computes the lanes in one short vectorized loop per element.  Fewer directions use
fewer lanes (1, 2, 4 or 8).  Large temporaries are reused from call to call (see
:func:`release_memory`).
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _core, _dual
from .._validation import as_point, check_all_finite, check_memory
from .base import Callback, PartialResult, Prepared, ProbeResult, Source
from .gradient import SCHEME_KINDS, Gradient, GradientKind, checked_gradient
from .reuse import reused_numpy_memory

__all__ = ["LANES", "DualPrepared", "DualSource", "release_memory"]

_F64 = NDArray[np.float64]

#: The lane counts of the dual dtypes; a call seeds up to the largest.
LANES: tuple[int, ...] = (1, 2, 4, 8)

#: A vectorized gradient gets at most this many dual elements per call (about 1 GB).
_MAX_ELEMENTS_PER_CALL = 1 << 24

_NOTE = (
    "hessprobe: the gradient {name!r} was called on dual numbers (scheme='dual', dtype "
    "{dtype}); an operation without dual support raises TypeError. See "
    "hessprobe.kinds.dual for what is supported, or use a finite-difference scheme for "
    "this gradient: hp.Gradient(fn, scheme='central'), or scheme='complex'."
)


@functools.cache
def _register_scipy_special() -> None:
    """Add the dual loops of scipy.special's expit, log_expit and erf (once)."""
    import scipy.special

    _dual.register_special(scipy.special)


def release_memory() -> None:
    """Free the memory kept for the temporaries of the next dual evaluation.

    A dual array of n = 10^6 and 8 lanes is 72 MB; the gradient's temporaries freed
    during a call are kept (up to 1 GiB in all) and reused by the next call, which would
    otherwise fault them in afresh at a third of the speed of reused memory.

    Examples
    --------
    >>> from hessprobe.kinds.dual import release_memory
    >>> release_memory()
    """
    _dual.release_cache()


def lanes_for(count: int) -> int:
    """Return the fewest lanes that hold ``count`` directions (8 for 8 or more)."""
    return next((k for k in LANES if k >= count), LANES[-1])


class DualSource(GradientKind, Source):
    """A :class:`~hessprobe.Gradient` with ``scheme="dual"``: exact HVPs by dual numbers."""

    exact = True

    def __init__(self, gradient: Gradient) -> None:
        _register_scipy_special()
        self.gradient = gradient

    def at(self, x: ArrayLike) -> DualPrepared:
        """Return the gradient at ``x`` (1-D, non-empty, finite).

        A call needs at least the seeded array, one temporary and the result, each of 8
        lanes (72 bytes an element): refused up front when that cannot fit.
        """
        point = as_point(x)
        n = point.shape[0]
        check_memory(
            3 * 9 * 8 * n, f"scheme='dual' at n = {n} (3 dual arrays of 72 bytes an element)"
        )
        return DualPrepared(self, point)


class DualPrepared(Prepared):
    """A Python gradient at a point, its HVPs from calls on dual numbers."""

    source: DualSource

    @property
    def _name(self) -> str:
        fn = self.source.gradient.fn
        return str(getattr(fn, "__name__", repr(fn)))

    def _call(self, X: NDArray[Any]) -> NDArray[Any]:
        """Return fn(X) for a read-only dual X, checked: X's shape, dual or real."""
        X.flags.writeable = False
        try:
            raw = self.source.gradient.fn(X)
        except TypeError as error:
            if hasattr(error, "add_note"):  # Python >= 3.11
                error.add_note(_NOTE.format(name=self._name, dtype=X.dtype))
            raise
        if raw is None:
            raise TypeError(
                f"the gradient {self._name!r} returned None; expected an array of shape {X.shape}"
            )
        G = np.asarray(raw)
        if G.dtype != X.dtype and G.dtype.kind not in "biuf":
            raise TypeError(
                f"the gradient {self._name!r} returned an array of dtype {G.dtype} on dual "
                f"input of dtype {X.dtype}; expected that dtype (or a real one: a gradient "
                "that does not depend on x)"
            )
        if G.shape != X.shape:
            raise ValueError(
                f"the gradient {self._name!r} returned an array of shape {G.shape}; "
                f"expected {X.shape}"
            )
        return G

    def _products(self, V: _F64, out: _F64 | None = None) -> _F64:
        """Return H V' as rows: up to 8 rows of V a call (vectorized: any number).

        The rows are written into ``out`` (C-contiguous, V's shape) when it is given.
        """
        hv = np.empty_like(V) if out is None else out
        with reused_numpy_memory():
            X = _dual.seed(self.point, V, lanes_for(len(V)))  # (ceil(k / lanes), n)
            G = self._call(X if self.source.gradient.vectorized else X[0])
            if G.dtype == X.dtype:
                finite = _dual.extract(G, hv)
            else:  # a real result: the gradient does not depend on x
                hv.fill(0.0)
                finite = bool(np.isfinite(G).all())
            del X, G  # freed while reusing: the next call's seed and result take them
        if not finite:
            raise ValueError(
                f"the gradient {self._name!r} returned non-finite values (NaN or Inf) on dual "
                "input: in its value or in its lanes (the Hessian-vector products)"
            )
        return hv

    def hvp(self, V: _F64, threads: int) -> _F64:
        check_all_finite(V, "v")
        k, n = V.shape
        per_call = lanes_for(k)
        if self.source.gradient.vectorized:
            per_call *= max(1, _MAX_ELEMENTS_PER_CALL // (n * per_call))
        with reused_numpy_memory():  # the result may take a block a previous call freed
            out = np.empty_like(V)
        starts = range(0, k, per_call)
        if threads < 2 or len(starts) < 2:
            for start in starts:
                self._products(V[start : start + per_call], out[start : start + per_call])
            return out
        # Blocks on several threads: their calls overlap where NumPy releases the GIL.
        with ThreadPoolExecutor(min(threads, len(starts))) as pool:
            futures = [
                pool.submit(self._products, V[a : a + per_call], out[a : a + per_call])
                for a in starts
            ]
            for future in futures:
                future.result()
        return out

    def probe(
        self,
        probes: int,
        seed: int,
        threads: int,
        diagonal: bool,
        tol: float,
        progress: Callback | None = None,
    ) -> ProbeResult:
        result: ProbeResult = _core.block_probe(
            self._products, self.n, probes, seed, threads, diagonal, tol, progress
        )
        return result

    def probe_blocks(
        self,
        probes: int,
        seed: int,
        first_block: int,
        count: int,
        threads: int,
        diagonal: bool,
        reference: _F64 | None,
    ) -> PartialResult:
        try:
            result: PartialResult = _core.block_probe_blocks(
                self._products,
                self.n,
                probes,
                seed,
                first_block,
                count,
                threads,
                diagonal,
                reference,
            )
        finally:
            _dual.release_cache()
        return result

    def gradient(self, threads: int) -> _F64:
        return checked_gradient(
            self.source.gradient.fn, self.point, self.source.gradient.vectorized
        )


SCHEME_KINDS["dual"] = DualSource
