"""Variance-reduced trace and diagonal estimators: Hutch++, XTrace, XDiag and Diag++.

Each spends part of its budget of Hessian-vector products on a sketch Y = H Omega of
Rademacher test vectors, takes an orthonormal basis Q of it (the dominant eigenspace of H
when the spectrum decays), computes the trace or diagonal of H on that subspace exactly
and estimates only the rest by Hutchinson's method.  For a Hessian whose eigenvalues
decay, the rest is small, and so is the error: Hutch++ (Meyer, Musco, Musco and Woodruff
2021) reaches relative error eps with O(1/eps) HVPs for a PSD matrix, where Hutchinson
needs O(1/eps^2).  XTrace and XDiag (Epperly, Tropp and Webber, SIAM J. Matrix Anal.
Appl. 2024) use every test vector both for the sketch and for the estimate (leave one
out) and come with their own error estimate.  Diag++ (Baston and Nakatsukasa 2022) is
Hutch++'s analogue for the diagonal.

The matmats H V are blocks of HVPs (:func:`hessprobe.hvp`: passes of 8 dual lanes for a
built-in, finite differences for a gradient callable).  Test vector j is probe j of
``seed``, the same +-1 vector :func:`hessprobe.hutchinson_diag` uses, so a result depends on
(seed, hvps) only, not on ``threads``.  Memory is O(hvps x n) (the sketch), unlike
Hutchinson's O(threads x 8 x n): these methods are for budgets of tens to a few hundred
HVPs.

Examples
--------
>>> import numpy as np
>>> import hessprobe as hp
>>> rng = np.random.default_rng(0)
>>> U, _ = np.linalg.qr(rng.standard_normal((300, 300)))
>>> A = (U * 0.8 ** np.arange(300)) @ U.T           # eigenvalues 0.8^k: fast decay
>>> f = hp.functions.quadratic(A)
>>> x = np.zeros(300)
>>> est = hp.sketching.xtrace(f, x, hvps=60, seed=1)
>>> bool(abs(est.value - np.trace(A)) < 1e-3 * np.trace(A)), est.hvps
(True, 60)
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._validation import as_count, as_seed, resolve_threads
from .distributed import attach
from .estimators import DEFAULT_HVPS, Estimate
from .progress import Progress, reporter
from .sources import Scheme, prepare

__all__ = ["diagpp", "hutchpp", "xdiag", "xtrace"]

_F64 = NDArray[np.float64]

#: XTrace's and XDiag's reported stderr is their own error estimate, the spread of the k
#: exchangeable leave-one-out estimates std(t_i) / sqrt(k), times this factor.  The t_i
#: share k - 2 of their sketch vectors, so they are positively correlated and the bare
#: estimate is too small: measured over 300 seeds each on a quadratic with eigenvalues
#: 1/j^2, Rosenbrock and Ackley (n = 300; 48 and 96 HVPs), the 95% quantile of
#: |error| / estimate was 2.4 to 3.1 (2 x the bare estimate covered 80 to 92% of runs).
#: With the factor 1.5, |error| <= 2 stderr holds in about 95% of runs, as for the other
#: estimators (tests/test_estimators_plus.py checks it on other Hessians).
LOO_CALIBRATION = 1.5

#: H V for the rows of V (k, n): (H V^T)^T.
_Matmat = Callable[[_F64], _F64]


def _setup(
    source: Any,
    x: ArrayLike,
    hvps: int,
    seed: int,
    threads: int | None,
    scheme: Scheme | None,
    step: float | None,
    minimum: int,
    progress: Progress,
    pairs: bool = False,
    executor: Executor | None = None,
) -> tuple[_Matmat, int, int, int]:
    """Return (matmat, n, hvps, seed) after checking the arguments.

    The matmat reports the HVPs done to ``progress``, out of the HVPs the method spends:
    all of ``hvps``, or an even number with ``pairs`` (two HVPs per test vector).  With
    ``executor``, the blocks of HVPs run on its workers (:mod:`hessprobe.distributed`).
    """
    prepared = attach(prepare(source, x, scheme, step), executor, source, scheme, step, threads)
    m = as_count(hvps, "hvps", minimum)
    s = as_seed(seed)
    t = resolve_threads(threads)
    spend = m - m % 2 if pairs else m
    report = reporter(progress, spend, "sketch")
    done = 0

    def matmat(V: _F64) -> _F64:
        nonlocal done
        try:
            HV = prepared.hvp(np.ascontiguousarray(V), t)
        except BaseException:
            report.close()  # a failed run does not leave its bar open
            raise
        done += V.shape[0]
        report(done)
        if done >= spend:
            report.finish(done)
        return HV

    return matmat, prepared.n, m, s


def _signs(seed: int, first: int, count: int, n: int) -> _F64:
    """Probes first .. first + count - 1 of ``seed`` as rows (count, n)."""
    out: _F64 = _core.rademacher(seed, first, count, n)
    return out


def _basis(Y: _F64) -> tuple[_F64, _F64]:
    """Q (n, k) with orthonormal columns and R (k, k) upper triangular, Y = Q R."""
    Q, R = np.linalg.qr(Y)
    return Q, R


def _sample_stderr(samples: _F64) -> Any:
    """Return the standard error of the mean over axis 0 (NaN for one sample)."""
    k = samples.shape[0]
    if k < 2:
        return np.full(samples.shape[1:], np.nan)[()]
    return np.std(samples, axis=0, ddof=1) / np.sqrt(k)


def _sketch_size(n: int, k: int, hvps: int, what: str) -> None:
    if k > n:
        raise ValueError(
            f"hvps={hvps} asks for a sketch of {k} vectors in dimension n={n}: more HVPs "
            f"than {what} needs for the exact answer; use hessprobe.hessian instead"
        )


def _loo_normalizer(R: _F64) -> _F64:
    """S: the columns of R^-T scaled to unit length (leave-one-out downdating of Q).

    Column i of S is the direction in span(Q) that the sketch loses when test vector i is
    left out (Epperly, Tropp and Webber 2024, section 2).  Raises when R is singular: the
    sketch is rank-deficient (the Hessian has rank < number of test vectors).
    """
    k = R.shape[0]
    if not np.all(np.abs(np.diag(R)) > 1e3 * np.finfo(np.float64).eps * np.abs(R).max()):
        raise ValueError(
            "the sketch H Omega is rank-deficient (the Hessian has rank below the number of "
            "test vectors, hvps/2); use fewer hvps, method='hutch++', or the exact Hessian"
        )
    Rinv_t = scipy.linalg.solve_triangular(R, np.eye(k)).T
    S: _F64 = Rinv_t / np.linalg.norm(Rinv_t, axis=0)
    return S


def hutchpp(
    source: Any,
    x: ArrayLike,
    hvps: int = DEFAULT_HVPS,
    *,
    seed: int = 0,
    threads: int | None = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    progress: Progress = None,
    executor: Executor | None = None,
) -> Estimate[float]:
    """Estimate the Hessian's trace by Hutch++ (Meyer, Musco, Musco and Woodruff 2021).

    With k = hvps // 3: Q is an orthonormal basis of H S for k test vectors S; the trace
    is tr(Q' H Q), exact on that subspace, plus Hutchinson's estimate of the trace of the
    deflated P H P, P = I - Q Q', from the remaining hvps - 2k test vectors g:
    mean of (P g)' H (P g).  For a PSD H the error is O(1/hvps) where Hutchinson's is
    O(1/sqrt(hvps)); for a fast-decaying spectrum it is far smaller still.

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    x : array_like, shape (n,)
        The point.
    hvps : int, optional
        The budget of Hessian-vector products, >= 3 (used exactly).
    seed : int, optional
        Test vectors 0 .. k - 1 of ``seed`` make the sketch, the next ones the
        Hutchinson part.
    threads : int, optional
        Threads for the HVPs; the result does not depend on it.
    scheme, step : optional
        Finite-difference options for a callable source.
    progress : bool or callable, optional
        ``True`` for a bar, or ``progress(done, total)`` with the HVPs done after each
        block of them (:mod:`hessprobe.progress`).
    executor : concurrent.futures.Executor, optional
        Compute each block of HVPs on this executor's workers, bitwise as locally
        (:mod:`hessprobe.distributed`); ``threads`` is then per worker.

    Returns
    -------
    Estimate
        ``stderr`` is the sample standard error of the Hutchinson part (the exact part
        has none): it says how far the estimate is from tr(Q' H Q) + tr(P H P) for this
        Q.  ``probes`` counts the test vectors (hvps - k), ``hvps`` the HVPs.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> rng = np.random.default_rng(0)
    >>> U, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    >>> A = (U * 0.8 ** np.arange(300)) @ U.T           # eigenvalues 0.8^k
    >>> est = hp.sketching.hutchpp(hp.functions.quadratic(A), np.zeros(300), hvps=60, seed=1)
    >>> bool(abs(est.value - np.trace(A)) < 0.01 * np.trace(A)), est.hvps, est.probes
    (True, 60, 40)
    """
    matmat, n, m, s = _setup(
        source, x, hvps, seed, threads, scheme, step, 3, progress, executor=executor
    )
    k = m // 3
    rest = m - 2 * k
    _sketch_size(n, k, m, "Hutch++")
    Q, _ = _basis(matmat(_signs(s, 0, k, n)).T)
    exact = float(np.sum(Q * matmat(Q.T).T))
    G = _signs(s, k, rest, n)
    PG = G - (G @ Q) @ Q.T
    samples = np.sum(PG * matmat(PG), axis=1)
    return Estimate(exact + float(samples.mean()), float(_sample_stderr(samples)), k + rest, m)


def xtrace(
    source: Any,
    x: ArrayLike,
    hvps: int = DEFAULT_HVPS,
    *,
    seed: int = 0,
    threads: int | None = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    progress: Progress = None,
    executor: Executor | None = None,
) -> Estimate[float]:
    """Estimate the Hessian's trace by XTrace (Epperly, Tropp and Webber 2024).

    With k = hvps // 2 Rademacher test vectors omega_i: for each i, Q_(i) is a basis of
    the sketch H Omega without column i; the estimate t_i = tr(Q_(i)' H Q_(i)) +
    omega_i' P_(i) H P_(i) omega_i is unbiased for a Gaussian Omega and, for Rademacher,
    exact for every H of rank < k; the result is the mean of the k t_i, all obtained from
    one QR factorization by rank-one downdates.  Every test vector serves both the
    low-rank part and the Hutchinson part, so the error is that of Hutch++ with
    about twice its sketch, and it reaches O(1/hvps) for a PSD H.

    Parameters are those of :func:`hutchpp` (``hvps`` >= 4; ``hvps`` // 2 test vectors,
    2 HVPs each; an odd budget leaves one HVP unused, and ``progress`` counts to the
    even number spent).

    Returns
    -------
    Estimate
        ``stderr`` is XTrace's own error estimate, std(t_i) / sqrt(k) (the spread of the
        exchangeable leave-one-out estimates), times :data:`LOO_CALIBRATION` = 1.5,
        which makes |error| <= 2 stderr hold in about 95% of runs.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> f = hp.functions.rosenbrock()
    >>> x = np.full(50, 0.5)
    >>> est = hp.sketching.xtrace(f, x, hvps=100)
    >>> bool(abs(est.value - np.trace(f.hessian(x))) < 3 * est.stderr), est.probes
    (True, 50)
    """
    matmat, n, m, s = _setup(
        source, x, hvps, seed, threads, scheme, step, 4, progress, pairs=True, executor=executor
    )
    k = m // 2
    _sketch_size(n, k, m, "XTrace")
    Om = _signs(s, 0, k, n).T
    Y = matmat(Om.T).T
    Q, R = _basis(Y)
    S = _loo_normalizer(R)
    Z = matmat(Q.T).T
    H = Q.T @ Z
    W = Q.T @ Om
    HW = H @ W
    T = Z.T @ Om

    def dp(A: _F64, B: _F64) -> _F64:
        out: _F64 = np.sum(A * B, axis=0)
        return out

    dSW = dp(S, W)
    dSHS = dp(S, H @ S)
    ests = (
        np.trace(H)
        - dSHS
        + dp(Om, Y)
        - dp(W, R)
        - dp(T, W)
        + dp(W, HW)
        + dSW * dp(S, R - HW)
        + dSW**2 * dSHS
        + dp(T - H.T @ W, S) * dSW
    )
    err = LOO_CALIBRATION * float(_sample_stderr(ests))
    return Estimate(float(ests.mean()), err, k, 2 * k)


def xdiag(
    source: Any,
    x: ArrayLike,
    hvps: int = DEFAULT_HVPS,
    *,
    seed: int = 0,
    threads: int | None = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    progress: Progress = None,
    executor: Executor | None = None,
) -> Estimate[NDArray[np.float64]]:
    """Estimate the Hessian's diagonal by XDiag (Epperly, Tropp and Webber 2024).

    The diagonal analogue of :func:`xtrace`: for each of the k = hvps // 2 test vectors,
    d_i = diag(Q_(i) Q_(i)' H) + omega_i * ((I - Q_(i) Q_(i)') H omega_i), with Q_(i) the
    basis of the sketch without column i; the estimate is their mean.  Exact for a
    Hessian of rank < k; for one with a strong low-rank part the error is that of the
    small remainder.

    Parameters are those of :func:`xtrace`.

    Returns
    -------
    Estimate
        ``value`` and ``stderr`` of shape (n,); ``stderr`` per coordinate is
        std(d_i) / sqrt(k), the spread of the leave-one-out estimates (the error estimate
        XTrace uses, applied coordinate by coordinate), times :data:`LOO_CALIBRATION`.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> rng = np.random.default_rng(1)
    >>> B = rng.standard_normal((200, 5))
    >>> A = B @ B.T + 0.01 * np.eye(200)      # rank 5 plus a small identity
    >>> est = hp.sketching.xdiag(hp.functions.quadratic(A), np.zeros(200), hvps=40)
    >>> bool(np.abs(est.value - np.diag(A)).max() < 0.01)    # Hutchinson's: 15
    True
    """
    matmat, n, m, s = _setup(
        source, x, hvps, seed, threads, scheme, step, 4, progress, pairs=True, executor=executor
    )
    k = m // 2
    _sketch_size(n, k, m, "XDiag")
    Om = _signs(s, 0, k, n).T
    Y = matmat(Om.T).T
    Q, R = _basis(Y)
    S = _loo_normalizer(R)
    Z = matmat(Q.T).T
    T = Z.T @ Om
    QS = Q @ S
    # Row i of `each` is d_i; their mean is the XDiag estimate.
    each = (
        np.sum(Q * Z, axis=1) - (QS * (Z @ S)).T + Om.T * (Y - Q @ T + QS * np.sum(S * T, axis=0)).T
    )
    return Estimate(each.mean(axis=0), LOO_CALIBRATION * _sample_stderr(each), k, 2 * k)


def diagpp(
    source: Any,
    x: ArrayLike,
    hvps: int = DEFAULT_HVPS,
    *,
    seed: int = 0,
    threads: int | None = None,
    scheme: Scheme | None = None,
    step: float | None = None,
    progress: Progress = None,
    executor: Executor | None = None,
) -> Estimate[NDArray[np.float64]]:
    """Estimate the Hessian's diagonal by Diag++ (Baston and Nakatsukasa 2022).

    diag(H) = diag(Q Q' H) + diag(P H) with P = I - Q Q' and Q an orthonormal basis of
    H S for k = hvps // 3 test vectors: the first part is exact (from H Q), the second is
    Hutchinson's mean of g * (P H g) over the remaining hvps - 2k test vectors.

    Parameters are those of :func:`hutchpp`.

    Returns
    -------
    Estimate
        ``value`` and ``stderr`` of shape (n,); ``stderr`` is the per-coordinate sample
        standard error of the Hutchinson part.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> rng = np.random.default_rng(1)
    >>> B = rng.standard_normal((200, 5))
    >>> A = B @ B.T + 0.01 * np.eye(200)      # rank 5 plus a small identity
    >>> est = hp.sketching.diagpp(hp.functions.quadratic(A), np.zeros(200), hvps=30)
    >>> bool(np.abs(est.value - np.diag(A)).max() < 0.01)
    True
    """
    matmat, n, m, s = _setup(
        source, x, hvps, seed, threads, scheme, step, 3, progress, executor=executor
    )
    k = m // 3
    rest = m - 2 * k
    _sketch_size(n, k, m, "Diag++")
    Q, _ = _basis(matmat(_signs(s, 0, k, n)).T)
    exact = np.sum(Q * matmat(Q.T).T, axis=1)
    G = _signs(s, k, rest, n)
    HG = matmat(G)
    samples = G * (HG - (HG @ Q) @ Q.T)
    return Estimate(exact + samples.mean(axis=0), _sample_stderr(samples), k + rest, m)
