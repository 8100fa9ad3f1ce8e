"""A tangent callback: a native gradient that gives its own exact directional derivatives.

For code differentiated elsewhere (Tapenade, Enzyme, a hand-written JVP, Fortran): a
``scipy.LowLevelCallable`` with the C signature ::

    int f(const double *x, const double *V, double *g, double *GV,
          npy_intp n, npy_intp k, void *user_data)

writing g = g(x) (n values) and ``GV[r] = H(x) V[r]`` for the k rows of the row-major
(k, n) arrays V and GV, returning 1 on success.  k = 0 asks for g alone.  The core calls
it from its OpenMP threads without the GIL, a block of at most 8 directions a call;
calls may run concurrently.  Its outputs are filled with NaN first: an entry it forgets
to write is reported as a ValueError, as is a NaN or Inf it returns; a status other than
1 is a RuntimeError.  See ``hessprobe/tangent.hpp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _core
from .._validation import as_point, check_all_finite
from .base import Callback, Prepared, ProbeResult, Source

__all__ = ["Tangent", "TangentPrepared", "TangentSource", "is_tangent_callable"]

_F64 = NDArray[np.float64]


def _capsule(callable_: Any) -> Any:
    # A LowLevelCallable is a tuple whose item 0 is the capsule named by its signature.
    return tuple.__getitem__(callable_, 0)


def is_tangent_callable(obj: Any) -> bool:
    """Whether ``obj`` is a ``scipy.LowLevelCallable`` with a tangent-callback signature."""
    from scipy import LowLevelCallable

    return isinstance(obj, LowLevelCallable) and obj.signature in _core.tangent_signatures()


@dataclass(frozen=True)
class Tangent:
    """A tangent callback as a source: exact HVPs from the user's own tangent code.

    Parameters
    ----------
    fn : scipy.LowLevelCallable
        ``int (const double *x, const double *V, double *g, double *GV, npy_intp n,
        npy_intp k, void *user_data)``: g(x) into g and H(x) V[r] into GV[r] for the k
        rows of V, returning 1 on success (see :mod:`hessprobe.kinds.tangent`).  A bare
        LowLevelCallable with this signature is taken as ``Tangent(fn)``.
    bandwidth : int, optional
        The Hessian's half-bandwidth when known (H_ij = 0 for |i - j| > b): exact
        diagonals and sparse Hessians from 2b + 1 products.

    Examples
    --------
    >>> import hessprobe as hp
    >>> hp.Tangent(42)
    Traceback (most recent call last):
    ...
    TypeError: fn must be a scipy.LowLevelCallable, got int
    """

    fn: Any
    bandwidth: int | None = None

    def __post_init__(self) -> None:
        from scipy import LowLevelCallable

        if not isinstance(self.fn, LowLevelCallable):
            raise TypeError(f"fn must be a scipy.LowLevelCallable, got {type(self.fn).__name__}")
        accepted = _core.tangent_signatures()
        if self.fn.signature not in accepted:
            raise ValueError(
                f"fn: invalid scipy.LowLevelCallable signature {self.fn.signature!r} for a "
                f"tangent callback; expected {accepted[0]!r} (x, V, g, GV, n, k, user_data)"
            )
        b = self.bandwidth
        if b is not None and (isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0):
            raise ValueError(f"bandwidth must be an int >= 0 or None, got {b!r}")


class TangentSource(Source):
    """A :class:`Tangent` as a source (exact)."""

    exact = True

    def __init__(self, tangent: Tangent) -> None:
        self.tangent = tangent
        self.capsule = _capsule(tangent.fn)

    def __repr__(self) -> str:
        return f"hessprobe.Tangent({self.tangent.fn!r})"

    def at(self, x: ArrayLike) -> TangentPrepared:
        """Return the callback at ``x`` (1-D, non-empty, finite)."""
        return TangentPrepared(self, as_point(x))


class TangentPrepared(Prepared):
    """A tangent callback at a point."""

    source: TangentSource

    @property
    def bandwidth(self) -> int | None:
        b = self.source.tangent.bandwidth
        return None if b is None else int(b)

    def hvp(self, V: _F64, threads: int) -> _F64:
        check_all_finite(V, "v")
        out: _F64 = _core.tangent_hvp(self.source.capsule, self.point, V, threads)
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
        result: ProbeResult = _core.tangent_probe(
            self.source.capsule, self.point, probes, seed, threads, diagonal, tol, progress
        )
        return result

    def gradient(self, threads: int) -> _F64:
        out: _F64 = _core.tangent_gradient(self.source.capsule, self.point)
        return out
