"""Hutchinson estimators of the Hessian's diagonal and trace, optionally to a target error."""

from __future__ import annotations

import math
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_count, as_seed, check_probing_memory, resolve_threads
from .distributed import attach
from .kinds.base import Prepared, ProbeResult
from .progress import Progress, reporter
from .sources import Scheme, prepare
from .sparsity import Structure, structure_of
from .structured import colour_classes_of, structured_diagonal

__all__ = [
    "DEFAULT_HVPS",
    "STRUCTURES",
    "Estimate",
    "hutchinson",
    "hutchinson_diag",
    "hutchinson_trace",
]

#: What the estimators may use of the Hessian's structure: what the source declares
#: (a built-in's band: "known"), also the pattern of its NumPy gradient, detected (or
#: found in the cache of detected patterns: "detect"), or nothing ("none": probe).
StructureUse = Literal["known", "detect", "none"]
STRUCTURES: tuple[str, ...] = ("known", "detect", "none")

#: The default budget of every estimator: the number of Hessian-vector products.
DEFAULT_HVPS = 100

T = TypeVar("T", float, NDArray[np.float64])


@dataclass(frozen=True)
class Estimate(Generic[T]):
    """A Monte Carlo estimate with its standard error.

    Attributes
    ----------
    value : float or ndarray
        The estimate (the mean over probes).
    stderr : float or ndarray
        The standard error of that mean: the sample standard deviation over probes
        divided by sqrt(probes), per coordinate for a diagonal.  NaN for one probe.
    probes : int
        The number of random test vectors (probes) used.
    hvps : int
        The number of Hessian-vector products used: ``probes`` for Hutchinson's method
        (the default when it is not given), more for the sketching methods
        (:mod:`hessprobe.sketching`), whose sketch costs HVPs too.
    method : str
        How it was computed: ``"hutchinson"`` (random probes), a sketching method's
        name, or ``"colouring"``: the Hessian's known band or pattern gave the value
        itself from ``hvps`` coloured HVPs (``probes`` 0 and ``stderr`` 0: no sampling
        error; a finite-difference source keeps its truncation error).
    """

    value: T
    stderr: T
    probes: int
    hvps: int = 0
    method: str = "hutchinson"

    def __post_init__(self) -> None:
        if self.hvps == 0:
            object.__setattr__(self, "hvps", self.probes)


def as_tol(tol: Any) -> float:
    """Return a target relative error as a float > 0 (``None`` means 0: no target)."""
    if tol is None:
        return 0.0
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)):
        raise TypeError(f"tol must be a number, got {type(tol).__name__}")
    value = float(tol)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"tol must be a finite number > 0, got {tol!r}")
    return value


def hutchinson(
    prepared: Prepared,
    hvps: int,
    seed: int,
    threads: int,
    diagonal: bool,
    tol: float,
    progress: Progress = None,
) -> ProbeResult:
    """Run Hutchinson probing on a prepared source with checked options (tol 0: none)."""
    check_probing_memory(hvps, prepared.n, threads)
    with reporter(progress, hvps, "trace" if not diagonal else "diagonal") as report:
        result = prepared.probe(hvps, seed, threads, diagonal, tol, report.hook)
        report.finish(len(result[4]))
    return result


def _structure(prepared: Prepared, use: Any, hvps: int) -> Structure | None:
    """Return the band or pattern that gives diag(H) exactly in at most ``hvps`` HVPs."""
    if use not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, got {use!r}")
    if use == "none":
        return None
    found = structure_of(prepared, sparsity="auto" if use == "detect" else "declared")
    if not found.sparse or len(colour_classes_of(found)) > hvps:
        return None
    return found


def _run(
    source: Any,
    x: ArrayLike,
    hvps: int,
    seed: int,
    threads: int | None,
    diagonal: bool,
    scheme: Scheme | None,
    step: float | None,
    tol: float | None,
    progress: Progress,
    executor: Executor | None,
    structure: StructureUse,
) -> tuple[ProbeResult, int, str]:
    """Return (the probing result, the HVPs used, the method) of an estimator's call."""
    local = prepare(source, x, scheme, step)
    budget, seed_, nthreads = as_count(hvps, "hvps"), as_seed(seed), resolve_threads(threads)
    target = as_tol(tol)
    exact = _structure(local, structure, budget)
    prepared = attach(local, executor, source, scheme, step, threads)
    if exact is None:
        result = hutchinson(prepared, budget, seed_, nthreads, diagonal, target, progress)
        return result, len(result[4]), "hutchinson"
    diag = structured_diagonal(prepared, exact, nthreads, progress)
    zero = np.zeros_like(diag)
    done = len(colour_classes_of(exact))
    return (diag, zero, float(diag.sum()), 0.0, np.empty(0)), done, "colouring"


def hutchinson_diag(
    source: Any,
    x: ArrayLike,
    hvps: int = DEFAULT_HVPS,
    *,
    seed: int = 0,
    threads: int | None = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    tol: float | None = None,
    progress: Progress = None,
    executor: Executor | None = None,
    structure: StructureUse = "known",
) -> Estimate[NDArray[np.float64]]:
    """Estimate the Hessian's diagonal by Hutchinson's method.

    diag(H) = E[v * (H v)] for Rademacher probes v (independent +-1 entries): the
    estimate is the mean of v * (H v) over ``hvps`` probes, with its standard error per
    coordinate.  Coordinate i's sample variance is sum_{j != i} H_ij^2, so a diagonal
    Hessian is recovered exactly (standard error 0) from any number of probes.

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    x : array_like, shape (n,)
        The point.
    hvps : int, optional
        The budget: the number of probes, one HVP each, >= 1 (default 100); with
        ``tol``, the most to use.
    seed : int, optional
        Probe j is a pure function of (seed, j): the same seed gives bitwise the same
        result for any ``threads``, and the same probes for every source.
    threads : int, optional
        Threads to use (default all cores).
    scheme, step : optional
        Finite-difference options for a callable source.
    tol : float, optional
        A target relative standard error, ``||stderr||_2 / ||value||_2`` (for the trace,
        ``stderr / |value|``): probing runs block by block (8 probes a block, the dual
        lanes of one pass) and stops after the first block, from the second on, at
        which the estimate meets it, or at ``hvps``.  The check runs in the engine
        after every block, so the run stops exactly at that block (never a block past
        it), and the result is bitwise the one of a plain run with ``hvps=est.hvps``.
        Check ``est.stderr`` against the target: a run that used all ``hvps`` may not
        meet it.
    progress : bool or callable, optional
        ``True`` for a progress bar, or a callable called as ``progress(done, total)``
        with the probes done, between blocks of 8 (:mod:`hessprobe.progress`).  With
        ``tol``, ``total`` is ``hvps``, and a run that stops early ends with
        ``(est.probes, est.probes)``.
    executor : concurrent.futures.Executor, optional
        Run the probes on this executor's workers (a Dask ``Client.get_executor()``, a
        ``ProcessPoolExecutor``, ...): blocks of 8 probes are shared out and their sums
        added in block order, so the result is bitwise the local one with the same
        seed (:mod:`hessprobe.distributed`).  ``threads`` is then per worker (default 1).
    structure : {"known", "detect", "none"}, optional
        A Hessian whose band or sparsity pattern is known and has at most ``hvps``
        colours gets its diagonal (and trace) exactly, from one HVP per colour, rather
        than from probes: the returned estimate says so (``method="colouring"``,
        ``probes`` 0, ``stderr`` 0, ``hvps`` the colours).  ``"known"`` (default): the
        structure the source declares (a built-in's band: Rosenbrock is tridiagonal, 2
        colours; the separable functions diagonal, 1; a compiled gradient's declared
        bandwidth), so that the result never depends on earlier calls; ``"detect"``:
        also the pattern of a NumPy gradient, detected by one call on tracers or taken
        from the cache of patterns detected for it (:mod:`hessprobe.sparsity`), probing
        as usual when it cannot be detected; ``"none"``: always probe.

    Returns
    -------
    Estimate
        ``value`` and ``stderr`` of shape (n,), ``probes`` (= ``hvps``) and ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> f = hp.functions.rosenbrock()
    >>> x = np.full(1000, 0.5)
    >>> est = hp.hutchinson_diag(f, x, hvps=2000, seed=1, structure="none")
    >>> z = (est.value - f.hessian_diag(x)) / est.stderr
    >>> bool(abs(z).max() < 6)
    True

    To a target error of 5% in the 2-norm (it stops at the first block that meets it):

    >>> est = hp.hutchinson_diag(f, x, 10_000, seed=1, tol=0.05, structure="none")
    >>> est.probes, bool(np.linalg.norm(est.stderr) <= 0.05 * np.linalg.norm(est.value))
    (352, True)

    Rosenbrock's Hessian is tridiagonal, and the built-in says so: by default the
    diagonal is exact, from 2 coloured HVPs:

    >>> est = hp.hutchinson_diag(f, x)
    >>> est.method, est.hvps, bool(np.array_equal(est.value, f.hessian_diag(x)))
    ('colouring', 2, True)
    """
    (diag, err, _, _, samples), used, method = _run(
        source, x, hvps, seed, threads, True, scheme, step, tol, progress, executor, structure
    )
    return Estimate(diag, err, len(samples), used, method)  # type: ignore[arg-type]


def hutchinson_trace(
    source: Any,
    x: ArrayLike,
    hvps: int = DEFAULT_HVPS,
    *,
    seed: int = 0,
    threads: int | None = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    tol: float | None = None,
    progress: Progress = None,
    executor: Executor | None = None,
    structure: StructureUse = "known",
) -> Estimate[float]:
    """Estimate the Hessian's trace by Hutchinson's method.

    trace(H) = E[v . (H v)] for Rademacher v; the sample variance is
    2 sum_{i != j} H_ij^2, the smallest of any i.i.d. probe distribution.

    Parameters are those of :func:`hutchinson_diag` (``executor`` and ``structure``
    included: a known band or pattern gives the trace exactly, the sum of the exact
    diagonal); ``tol`` is a target for ``stderr / |trace|``.

    Returns
    -------
    Estimate
        ``value`` and ``stderr`` as floats, and ``probes``.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> f = hp.functions.styblinski_tang()
    >>> est = hp.hutchinson_trace(f, np.zeros(10), 4)          # diagonal H: 1 HVP
    >>> est.value, est.stderr, est.hvps, est.method
    (-160.0, 0.0, 1, 'colouring')
    >>> est = hp.hutchinson_trace(
    ...     hp.functions.rosenbrock(), np.full(100, 0.5), 1000, tol=0.01, structure="none"
    ... )
    >>> est.probes, bool(est.stderr <= 0.01 * abs(est.value))
    (168, True)
    """
    (_, _, trace, err, samples), used, method = _run(
        source, x, hvps, seed, threads, False, scheme, step, tol, progress, executor, structure
    )
    return Estimate(float(trace), float(err), len(samples), used, method)
