"""What every kind of gradient source offers the engines."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Callback", "PartialResult", "Prepared", "ProbeResult", "Source"]

_F64 = NDArray[np.float64]

#: A progress callback: called as ``callback(done, total)`` between blocks of work.
Callback = Callable[[int, int], None]

#: What a probing run returns: (diagonal or None, its stderr or None, trace, its stderr,
#: the per-probe trace samples).
ProbeResult = tuple[_F64 | None, _F64 | None, float, float, _F64]

#: What a partial probing run returns (a share of a run, :mod:`hessprobe.distributed`):
#: the per-block shifted sums S1 and S2, shape (blocks, n) (None for a trace-only run),
#: the reference r (the first probe's samples; only from the share holding block 0) and
#: the share's per-probe trace samples.
PartialResult = tuple[_F64 | None, _F64 | None, _F64 | None, _F64]


class Source(ABC):
    """A gradient source with its options, resolved but not yet at a point."""

    #: Whether its HVPs are exact (dual numbers) rather than finite differences.
    exact: bool = False
    #: Whether the source declares its whole structure: then a Hessian without a
    #: :attr:`Prepared.bandwidth` is dense (a built-in), rather than of unknown structure.
    structure_declared: bool = False

    def numpy_gradient(self) -> tuple[Callable[..., Any], bool] | None:
        """Return the user's NumPy gradient as ``(fn, vectorized)``, or None.

        What sparsity detection traces (:mod:`hessprobe.sparsity`); None for a kind that
        calls no Python gradient (a built-in, a compiled or a native function).
        """
        return None

    @abstractmethod
    def at(self, x: ArrayLike) -> Prepared:
        """Return the source prepared at ``x``: the point is checked here, once."""

    def with_options(self, scheme: str | None, step: float | None) -> Source:
        """Return this source with finite-difference options overridden (None: keep)."""
        if scheme is None and step is None:
            return self
        raise ValueError(
            "scheme and step apply to finite differences of a gradient callable; "
            f"{self!r} has exact derivatives"
        )


class Prepared(ABC):
    """A source at a checked point ``x``: the operations every engine is built on.

    Attributes
    ----------
    source : Source
        What was prepared.
    point : ndarray, shape (n,)
        The point: float64, finite, C-contiguous and read-only (a private copy).
    """

    def __init__(self, source: Source, point: _F64) -> None:
        self.source = source
        self.point = point

    @property
    def n(self) -> int:
        """The number of variables."""
        return int(self.point.shape[0])

    @property
    def exact(self) -> bool:
        """Whether the HVPs are exact to rounding (so a Hessian needs no symmetrising)."""
        return self.source.exact

    @property
    def bandwidth(self) -> int | None:
        """The half-bandwidth b of H (H_ij = 0 for |i - j| > b) when known, else None."""
        return None

    @abstractmethod
    def hvp(self, V: _F64, threads: int) -> _F64:
        """Return H V' as rows: one HVP per row of the checked (k, n) block ``V``."""

    def hvp_into(self, V: _F64, threads: int, out: _F64) -> _F64:
        """Write :meth:`hvp` of ``V`` into the checked array ``out`` (V's shape); return it.

        The default computes the products and copies them; a kind whose kernel writes
        into the caller's memory overrides it.
        """
        np.copyto(out, self.hvp(V, threads))
        return out

    def unit_hvp(self, V: _F64, threads: int) -> _F64:
        """Return HVPs of unit-like directions: columns H e_j, or sums of such (colours).

        Exact kinds give :meth:`hvp`; finite differences use the step for a direction of
        unit length rather than unit root-mean-square.
        """
        return self.hvp(V, threads)

    def hessian_kernel(self, threads: int) -> _F64 | None:
        """Return the dense Hessian from the kind's own column kernel, or None.

        None (the default): the engine builds it from :meth:`unit_hvp` of unit columns.
        """
        return None

    def diagonal_kernel(self, threads: int, out: _F64 | None = None) -> _F64 | None:
        """Return diag(H) from the kind's own kernel, with its known structure, or None.

        Written into ``out`` (checked, shape (n,)) when given.  None (the default): the
        engine recovers it from coloured :meth:`unit_hvp`.
        """
        return None

    @abstractmethod
    def probe(
        self,
        probes: int,
        seed: int,
        threads: int,
        diagonal: bool,
        tol: float,
        progress: Callback | None = None,
    ) -> ProbeResult:
        """Run Hutchinson probing: probes 0 .. probes - 1 of ``seed`` (tol 0: no target).

        ``progress``, when given, is called as ``progress(done, probes)`` between blocks
        with the probes done so far (and may raise to stop the run).
        """

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
        """Run blocks ``first_block .. first_block + count - 1`` of a run of ``probes``.

        A share of a run spread over workers: the sums come back per block, and
        :mod:`hessprobe.distributed` reduces them in block order into bitwise the result
        of :meth:`probe`.  ``reference`` is the r of the share holding block 0 (None for
        that share and for a trace-only run).
        """
        raise TypeError(f"{self.source!r} cannot run a share of a probing run (executor=)")

    @abstractmethod
    def gradient(self, threads: int) -> _F64:
        """Return g(x)."""

    def value(self) -> float | None:
        """Return f(x) when the source knows it, else None."""
        return None

    def __repr__(self) -> str:
        return f"<{self.source!r} at a point of length {self.n}>"
