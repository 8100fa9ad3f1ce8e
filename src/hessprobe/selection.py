"""One entry point per quantity: :func:`trace` and :func:`diagonal`, with ``method=``.

Examples
--------
>>> import numpy as np
>>> import hessprobe as hp
>>> f = hp.functions.rosenbrock()
>>> x = np.full(200, 0.5)
>>> est = hp.trace(f, x, hvps=64, seed=3, structure="none")
>>> est.hvps, bool(abs(est.value - np.trace(f.hessian(x))) < 3 * est.stderr)
(64, True)
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Literal, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .estimators import DEFAULT_HVPS, Estimate, StructureUse, hutchinson_diag, hutchinson_trace
from .progress import Progress
from .sketching import diagpp, hutchpp, xdiag, xtrace
from .sources import Scheme

__all__ = ["DIAGONAL_METHODS", "TRACE_METHODS", "diagonal", "trace"]

TraceMethod = Literal["hutchinson", "hutch++", "xtrace"]
DiagonalMethod = Literal["hutchinson", "diag++", "xdiag"]
TRACE_METHODS: tuple[str, ...] = ("hutchinson", "hutch++", "xtrace")
DIAGONAL_METHODS: tuple[str, ...] = ("hutchinson", "diag++", "xdiag")


def _check(method: str, known: tuple[str, ...], tol: float | None) -> None:
    if method not in known:
        raise ValueError(f"method must be one of {known}, got {method!r}")
    if tol is not None and method != "hutchinson":
        raise ValueError(
            f"tol= stops Hutchinson probing block by block; method={method!r} takes a fixed "
            "hvps= budget (its stderr says how accurate it is)"
        )


E = TypeVar("E")


def trace(
    source: Any,
    x: ArrayLike,
    hvps: int = DEFAULT_HVPS,
    *,
    method: TraceMethod = "hutchinson",
    seed: int = 0,
    threads: int | None = None,
    tol: float | None = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    progress: Progress = None,
    executor: Executor | None = None,
    structure: StructureUse = "known",
) -> Estimate[float]:
    """Estimate the Hessian's trace with the method of your choice.

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    x : array_like, shape (n,)
        The point.
    hvps : int, optional
        The budget of Hessian-vector products (with ``tol``: the most to use).
    method : {"hutchinson", "xtrace", "hutch++"}, optional
        ``"hutchinson"`` (the default): :func:`hessprobe.hutchinson_trace`.  In the
        benchmark (bench/results_estimators/: Rosenbrock, Ackley, logistic regression,
        a dense quadratic) it is the best or tied on three of the four cases and never
        the catastrophic one: Rademacher probes are exact on the diagonal of H, and the
        Hessians of many objectives are diagonally dominant (Ackley: 1.0% median error at
        96 HVPs, where XTrace has 35% and Hutch++ 20%, because deflating by the sketch
        destroys the diagonal structure; Rosenbrock: 0.07% against 0.26% and 0.38%).
        It also needs O(threads x 8 x n) memory where the sketching methods hold
        O(hvps x n), and it alone supports ``tol``.  Choose ``"xtrace"``
        (:func:`hessprobe.sketching.xtrace`) when the spectrum decays fast (a dominant
        low-rank part: Gauss-Newton-like, least squares, wide models): on the quadratic
        with eigenvalues 1/j^2 it reaches 1% with 18 HVPs, Hutchinson needs over 384.
        ``"hutch++"``: :func:`hessprobe.sketching.hutchpp`.
    seed : int, optional
        Test vector j is probe j of ``seed`` (all methods).
    threads : int, optional
        Threads for the HVPs; the result does not depend on it.
    tol : float, optional
        Target relative standard error (``method="hutchinson"`` only; see
        :func:`hessprobe.hutchinson_trace`).
    scheme, step : optional
        Finite-difference options for a callable source.
    progress : bool or callable, optional
        ``True`` for a progress bar, or ``progress(done, total)`` with the HVPs done
        (:mod:`hessprobe.progress`).
    executor : concurrent.futures.Executor, optional
        Run the HVPs on this executor's workers, bitwise as locally, every method
        (:mod:`hessprobe.distributed`); ``threads`` is then per worker.
    structure : {"known", "detect", "none"}, optional
        For ``"hutchinson"``: a known band or pattern gives the exact value from its
        colours (:func:`hessprobe.hutchinson_diag`); the other methods always sketch.

    Returns
    -------
    Estimate
    """
    _check(method, TRACE_METHODS, tol)
    estimators: dict[str, Callable[..., Estimate[float]]] = {
        "hutchinson": hutchinson_trace,
        "hutch++": hutchpp,
        "xtrace": xtrace,
    }
    options = dict(
        seed=seed, threads=threads, scheme=scheme, step=step, progress=progress, executor=executor
    )
    return _estimate(estimators[method], source, x, hvps, tol, structure, options)


def diagonal(
    source: Any,
    x: ArrayLike,
    hvps: int = DEFAULT_HVPS,
    *,
    method: DiagonalMethod = "hutchinson",
    seed: int = 0,
    threads: int | None = None,
    tol: float | None = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    progress: Progress = None,
    executor: Executor | None = None,
    structure: StructureUse = "known",
) -> Estimate[NDArray[np.float64]]:
    """Estimate the Hessian's diagonal with the method of your choice.

    For a Hessian of known bandwidth or sparsity, :func:`hessprobe.hessian_diag` is
    exact with a few HVPs; these estimators are for the rest.

    Parameters
    ----------
    source, x, hvps, seed, threads, tol, scheme, step, progress, executor
        As for :func:`trace`; ``tol`` is a target for ||stderr||_2 / ||value||_2.
    method : {"hutchinson", "xdiag", "diag++"}, optional
        ``"hutchinson"`` (the default): :func:`hessprobe.hutchinson_diag`, for the reasons
        given in :func:`trace`; in the benchmark it is best on Rosenbrock (2.9% median
        error at 96 HVPs against 7.5% for XDiag), Ackley (0.35% against 7.1%) and tied on
        logistic regression.  ``"xdiag"`` (:func:`hessprobe.sketching.xdiag`) for a
        Hessian with a strong low-rank part (the quadratic with eigenvalues 1/j^2: 0.6%
        at 96 HVPs where Hutchinson has 100%).  ``"diag++"``:
        :func:`hessprobe.sketching.diagpp`.
    structure : {"known", "detect", "none"}, optional
        As for :func:`trace`.

    Returns
    -------
    Estimate
        ``value`` and ``stderr`` of shape (n,).

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> f = hp.functions.ackley()
    >>> x = np.linspace(0.1, 1.0, 100)
    >>> est = hp.diagonal(f, x, hvps=40, method="hutchinson", tol=0.05)
    >>> est.hvps <= 40
    True
    """
    _check(method, DIAGONAL_METHODS, tol)
    estimators: dict[str, Callable[..., Estimate[NDArray[np.float64]]]] = {
        "hutchinson": hutchinson_diag,
        "diag++": diagpp,
        "xdiag": xdiag,
    }
    options = dict(
        seed=seed, threads=threads, scheme=scheme, step=step, progress=progress, executor=executor
    )
    return _estimate(estimators[method], source, x, hvps, tol, structure, options)


def _estimate(
    estimator: Callable[..., E],
    source: Any,
    x: ArrayLike,
    hvps: int,
    tol: float | None,
    structure: StructureUse,
    options: dict[str, Any],
) -> E:
    """Run the chosen estimator; ``tol`` and ``structure`` are Hutchinson's only."""
    if tol is not None:
        options["tol"] = tol
    if estimator in (hutchinson_trace, hutchinson_diag):
        options["structure"] = structure
    return estimator(source, x, hvps, **options)
