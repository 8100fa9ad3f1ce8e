"""Finite-difference HVPs of a gradient the core can call: what Python and native sources share."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _core
from .._validation import as_point, check_all_finite
from .base import Callback, PartialResult, Prepared, ProbeResult, Source
from .reuse import reused_numpy_memory

__all__ = [
    "SCHEMES",
    "FiniteDifferencePrepared",
    "FiniteDifferenceScheme",
    "FiniteDifferenceSource",
    "column_step",
]

_F64 = NDArray[np.float64]

FiniteDifferenceScheme = Literal["central", "forward", "complex"]
SCHEMES: tuple[str, ...] = ("central", "forward", "complex")


def check_scheme(scheme: Any) -> FiniteDifferenceScheme:
    """Return ``scheme`` if it names a finite-difference scheme, else raise ValueError."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    out: FiniteDifferenceScheme = scheme
    return out


def check_step(step: Any) -> float | None:
    """Return ``step`` as a float > 0 (None stays None: the default step)."""
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, (int, float, np.floating, np.integer)):
        raise TypeError(f"step must be a number, got {type(step).__name__}")
    if not (math.isfinite(step) and step > 0):
        raise ValueError(f"step must be a finite number > 0, got {step!r}")
    return float(step)


def column_step(scheme: FiniteDifferenceScheme, x: ArrayLike) -> float:
    """Return the default finite-difference step for columns H e_j (and coloured sums).

    h = c (1 + rms(x)) with the scheme's factor c = eps^(1/3) ~ 6.1e-6 (central),
    eps^(1/2) ~ 1.5e-8 (forward) or 1e-20 (complex), read from the core: the step of
    :class:`~hessprobe.Gradient` for a direction of unit length (rather than unit
    root-mean-square), so that one coordinate moves by that fraction of x's typical size.

    Examples
    --------
    >>> import hessprobe as hp
    >>> round(hp.dense.column_step("central", [1.0, -1.0]), 12)
    1.2110909e-05
    """
    point = as_point(x)
    rms = math.sqrt(float(point @ point) / point.shape[0])
    return float(_core.step_factor(check_scheme(scheme)) * (1.0 + rms))


class FiniteDifferenceSource(Source):
    """A gradient the core calls (a Python callable or a native function), with its options.

    Parameters
    ----------
    target : object
        What the core calls: a Python callable or a LowLevelCallable's capsule.
    vectorized : bool
        Whether one call takes a block of points.
    scheme : {"central", "forward", "complex"}
    step : float or None
        A fixed step, or None for the default.
    """

    def __init__(
        self, target: Any, vectorized: bool, scheme: FiniteDifferenceScheme, step: float | None
    ) -> None:
        self.target = target
        self.vectorized = vectorized
        self.scheme = check_scheme(scheme)
        self.step = check_step(step)

    def at(self, x: ArrayLike) -> FiniteDifferencePrepared:
        """Return the source at ``x`` (1-D, non-empty, finite)."""
        return FiniteDifferencePrepared(self, as_point(x))


class FiniteDifferencePrepared(Prepared):
    """A gradient source at a point: finite-difference HVPs and probing in the core."""

    source: FiniteDifferenceSource

    def _fd_hvp(self, V: _F64, step: float, threads: int, out: _F64 | None = None) -> _F64:
        check_all_finite(V, "v")
        src = self.source
        with reused_numpy_memory():
            hv: _F64 = _core.fd_hvp(
                src.target, src.vectorized, self.point, V, src.scheme, step, threads, out
            )
        return hv

    def hvp(self, V: _F64, threads: int) -> _F64:
        # step 0: the core's default step for each direction
        return self._fd_hvp(V, self.source.step or 0.0, threads)

    def hvp_into(self, V: _F64, threads: int, out: _F64) -> _F64:
        return self._fd_hvp(V, self.source.step or 0.0, threads, out)

    def unit_hvp(self, V: _F64, threads: int) -> _F64:
        step = self.source.step or column_step(self.source.scheme, self.point)
        return self._fd_hvp(V, step, threads)

    def probe(
        self,
        probes: int,
        seed: int,
        threads: int,
        diagonal: bool,
        tol: float,
        progress: Callback | None = None,
    ) -> ProbeResult:
        src = self.source
        with reused_numpy_memory():
            result: ProbeResult = _core.fd_probe(
                src.target,
                src.vectorized,
                self.point,
                probes,
                seed,
                threads,
                diagonal,
                src.scheme,
                src.step or 0.0,
                tol,
                progress,
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
        src = self.source
        with reused_numpy_memory():
            result: PartialResult = _core.fd_probe_blocks(
                src.target,
                src.vectorized,
                self.point,
                probes,
                seed,
                first_block,
                count,
                threads,
                diagonal,
                src.scheme,
                src.step or 0.0,
                reference,
            )
        return result

    def gradient(self, threads: int) -> _F64:
        raise TypeError(
            f"{self.source!r} is a gradient only the core can call: give a gradient callable "
            "or a built-in where g(x) is needed in Python"
        )
