"""A built-in function's compiled core: exact HVPs by dual numbers, its structure known."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import as_point, check_all_finite
from .base import Callback, PartialResult, Prepared, ProbeResult, Source

__all__ = ["BuiltinPrepared", "BuiltinSource"]

_F64 = NDArray[np.float64]

#: Refuses a point outside the function's domain by raising ValueError.
DomainCheck = Callable[[_F64], None]


class BuiltinSource(Source):
    """The compiled object of a built-in function (see :mod:`hessprobe.functions`)."""

    exact = True
    structure_declared = True  # the core's bandwidth, or dense

    def __init__(self, core: Any, display: str, domain: DomainCheck | None = None) -> None:
        self.core = core
        self.display = display
        self.domain = domain

    def __repr__(self) -> str:
        return self.display

    def at(self, x: ArrayLike) -> BuiltinPrepared:
        """Return the function at ``x``, its length and domain checked.

        Finiteness is checked by the compiled kernels, fused into their first pass over
        x (and v), not here: it would cost a third of an HVP at n = 10^6.
        """
        arr = as_point(x, check_finite=False)
        n = arr.shape[0]
        name = str(self.core.name)
        fixed, least = int(self.core.fixed_size), int(self.core.min_size)
        if fixed and n != fixed:
            raise ValueError(f"x must have length {fixed} for this {name}, got {n}")
        if n < least:
            raise ValueError(f"x must have length >= {least} for {name}, got {n}")
        if self.domain is not None:
            self.domain(arr)
        return BuiltinPrepared(self, arr)


class BuiltinPrepared(Prepared):
    """A built-in at a point."""

    source: BuiltinSource

    @property
    def bandwidth(self) -> int | None:
        b = int(self.source.core.bandwidth)
        return b if b >= 0 else None

    def hvp(self, V: _F64, threads: int) -> _F64:
        out: _F64 = self.source.core.hvp(self.point, V, threads)
        return out

    def hvp_into(self, V: _F64, threads: int, out: _F64) -> _F64:
        self.source.core.hvp(self.point, V, threads, out)
        return out

    def hessian_kernel(self, threads: int) -> _F64:
        # unit-vector lanes: the seeds are never read from memory
        out: _F64 = self.source.core.hessian(self.point, threads)
        return out

    def diagonal_kernel(self, threads: int, out: _F64 | None = None) -> _F64:
        # its own band colouring (one pass of b + 1 colours), or unit columns when dense
        d: _F64 = self.source.core.hessian_diag(self.point, threads, out)
        return d

    def probe(
        self,
        probes: int,
        seed: int,
        threads: int,
        diagonal: bool,
        tol: float,
        progress: Callback | None = None,
    ) -> ProbeResult:
        result: ProbeResult = self.source.core.probe(
            self.point, probes, seed, threads, diagonal, tol, progress
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
        result: PartialResult = self.source.core.probe_blocks(
            self.point, probes, seed, first_block, count, threads, diagonal, reference
        )
        return result

    def gradient(self, threads: int) -> _F64:
        out: _F64 = self.source.core.gradient(self.point, threads)
        return out

    def value(self) -> float:
        check_all_finite(self.point, "x")
        return float(self.source.core.value(self.point))
