"""Hessian spectra: extreme eigenpairs by Lanczos, densities by stochastic Lanczos quadrature."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import eigh_tridiagonal
from scipy.sparse.linalg import eigsh

from . import _core
from ._validation import PROBE_LANES, as_count, as_point, as_seed, check_memory
from .progress import Progress, Reporter, reporter
from .scipy_adapters import HessianOperator
from .sources import Scheme

__all__ = ["SpectralDensity", "eigenvalues", "plot_spectral_density", "spectral_density"]

Which = Literal["LA", "SA", "LM"]
_WHICH = ("LA", "SA", "LM")
#: Start vectors a Lanczos group runs together: one block of dual lanes per step.
_GROUP = PROBE_LANES


def eigenvalues(
    source: Any,
    x: ArrayLike,
    k: int = 6,
    which: Which = "LA",
    *,
    tol: float = 0.0,
    maxiter: int | None = None,
    seed: int = 0,
    scheme: Scheme | None = None,
    step: float | None = None,
    threads: int | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return k extreme eigenpairs of the Hessian H(x), by Lanczos on Hessian-vector products.

    The engine is :func:`scipy.sparse.linalg.eigsh` (implicitly restarted Lanczos,
    ARPACK) on a :class:`~hessprobe.HessianOperator`: every iteration costs one HVP and
    the Hessian is never formed.

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    x : array_like, shape (n,)
        The point.
    k : int, optional
        How many eigenpairs, 1 <= k < n.
    which : {"LA", "SA", "LM"}, optional
        Largest algebraic (the top of the spectrum), smallest algebraic (the bottom: the
        most negative curvature), or largest magnitude.
    tol : float, optional
        Relative accuracy of the eigenvalues; 0 means machine precision.
    maxiter : int, optional
        Maximum Arnoldi update iterations (default ``10 n``).
    seed : int, optional
        The start vector is the Rademacher probe 0 of this seed, so runs are repeatable.
    scheme, step, threads : optional
        As for :class:`~hessprobe.HessianOperator`.

    Returns
    -------
    eigenvalues : ndarray, shape (k,)
        In ascending order.
    eigenvectors : ndarray, shape (n, k)
        Orthonormal; column i belongs to ``eigenvalues[i]``.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> f = hp.functions.quadratic(np.diag([1.0, 2.0, 3.0, 4.0, 5.0]))
    >>> vals, vecs = hp.eigenvalues(f, np.zeros(5), k=2, which="LA")
    >>> np.round(vals, 12)
    array([4., 5.])
    """
    op = HessianOperator(source, x, scheme=scheme, step=step, threads=threads)
    n = op.shape[0]
    count = as_count(k, "k")
    if count >= n:
        raise ValueError(f"k must be < n = {n} (use hp.hessian and numpy.linalg.eigh), got {k}")
    if which not in _WHICH:
        raise ValueError(f"which must be one of {_WHICH}, got {which!r}")
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if maxiter is not None:
        maxiter = as_count(maxiter, "maxiter")
    v0 = _core.rademacher(as_seed(seed), 0, 1, n)[0]
    vals, vecs = eigsh(op, k=count, which=which, v0=v0, tol=tol, maxiter=maxiter)
    order = np.argsort(vals)
    return np.asarray(vals[order], dtype=np.float64), np.asarray(vecs[:, order], dtype=np.float64)


@dataclass(frozen=True)
class SpectralDensity:
    """An estimate of the Hessian's eigenvalue density by stochastic Lanczos quadrature.

    Attributes
    ----------
    grid : ndarray, shape (g,)
        Where the density is evaluated.
    density : ndarray, shape (g,)
        The Gaussian-broadened density on ``grid``; it integrates to 1 over the real line.
    nodes, weights : ndarray, shape (q,)
        The quadrature: the Ritz values of every start vector's Lanczos run, with weights
        (squared first components of the Ritz vectors, divided by the number of vectors)
        that sum to 1.  sum(weights * nodes**j) estimates tr(H^j) / n.
    sigma : float
        The standard deviation of the Gaussian placed on each node.
    vectors, steps : int
        Start vectors and the Lanczos steps per vector (a run ends early when its Krylov
        space is exhausted).
    """

    grid: NDArray[np.float64]
    density: NDArray[np.float64]
    nodes: NDArray[np.float64]
    weights: NDArray[np.float64]
    sigma: float
    vectors: int
    steps: int

    def moment(self, j: int) -> float:
        """Return the quadrature's j-th moment, sum(weights * nodes**j) ~ tr(H^j) / n.

        Exact for each start vector v, as v'H^j v / v'v, for j <= 2 * steps - 1.
        """
        power = as_count(j, "j", minimum=0)
        return float(self.weights @ self.nodes**power)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Plot the density with matplotlib; see :func:`plot_spectral_density`."""
        return plot_spectral_density(self, ax=ax, **kwargs)


def _report_from(report: Reporter, base: int, done: int) -> None:
    report(base + done)


def _lanczos_group(
    op: HessianOperator,
    starts: NDArray[np.float64],
    steps: int,
    on_step: Callable[[int], None] | None = None,
) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Lanczos with full reorthogonalisation from each row of ``starts``, run together.

    Returns, per start vector, the diagonal alpha and off-diagonal beta of its
    tridiagonal matrix.  Each step is one block of HVPs of the still-running vectors, after
    which ``on_step(steps done)`` is called when given.
    """
    count, n = starts.shape
    Q = np.zeros((count, steps, n))
    Q[:, 0] = starts / np.linalg.norm(starts, axis=1, keepdims=True)
    alpha = np.zeros((count, steps))
    beta = np.zeros((count, steps))
    length = np.full(count, steps)
    running = np.arange(count)
    products = np.empty((count, n))  # every step's products, written into the same memory
    for j in range(steps):
        W = op.hvp(Q[running, j], out=products[: running.size])
        a = np.einsum("kn,kn->k", W, Q[running, j])
        alpha[running, j] = a
        W -= a[:, None] * Q[running, j]
        if j > 0:
            W -= beta[running, j - 1][:, None] * Q[running, j - 1]
        # Full reorthogonalisation, twice ("twice is enough": Parlett).
        basis = Q[running, : j + 1]
        for _ in range(2):
            W -= np.einsum("kjn,kj->kn", basis, np.einsum("kjn,kn->kj", basis, W))
        if on_step is not None:
            on_step(j + 1)
        if j == steps - 1:
            break
        b = np.linalg.norm(W, axis=1)
        scale = np.maximum(
            np.abs(alpha[running, : j + 1]).max(axis=1), beta[running, :j].max(axis=1, initial=0.0)
        )
        # An exhausted Krylov space (as many steps as distinct eigenvalues): stop there.
        done = b <= 1e-12 * scale
        length[running[done]] = j + 1
        keep = ~done
        beta[running[keep], j] = b[keep]
        Q[running[keep], j + 1] = W[keep] / b[keep][:, None]
        running = running[keep]
        if running.size == 0:
            break
    return [(alpha[i, : length[i]], beta[i, : length[i] - 1]) for i in range(count)]


def spectral_density(
    source: Any,
    x: ArrayLike,
    *,
    vectors: int = 8,
    steps: int = 80,
    grid: int | ArrayLike = 1000,
    sigma: float | None = None,
    seed: int = 0,
    scheme: Scheme | None = None,
    step: float | None = None,
    threads: int | None = None,
    progress: Progress = None,
) -> SpectralDensity:
    """Estimate the Hessian's eigenvalue density by stochastic Lanczos quadrature (SLQ).

    For each of ``vectors`` Rademacher start vectors v, ``steps`` Lanczos steps (with full
    reorthogonalisation) give a tridiagonal T = U diag(theta) U'; the nodes theta_i with
    weights U_0i^2 are the Gauss quadrature of the spectral measure of H seen from v,
    whose moments are v'H^j v / v'v.  Averaged over v, they estimate the eigenvalue
    density (1/n) sum_i delta(t - lambda_i), which is then smoothed by a Gaussian of
    standard deviation ``sigma`` (Ubaru, Chen and Saad 2017; the density PyHessian
    draws).  Eight vectors run together, so each step is one block of 8 dual lanes.

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    x : array_like, shape (n,)
        The point.
    vectors : int, optional
        Rademacher start vectors (probes 0 .. vectors - 1 of ``seed``).
    steps : int, optional
        Lanczos steps per vector (capped at n); the cost is vectors * steps HVPs.
    grid : int or array_like, optional
        Number of grid points spanning the nodes +- 5 sigma, or the grid itself.
    sigma : float, optional
        Gaussian broadening; default 1% of the spread of the nodes.
    seed : int, optional
    scheme, step, threads : optional
        As for :class:`~hessprobe.HessianOperator`.
    progress : bool or callable, optional
        ``True`` for a bar, or ``progress(done, total)`` after each Lanczos step of a
        group of 8 vectors, counting steps: total = groups x steps
        (:mod:`hessprobe.progress`).

    Returns
    -------
    SpectralDensity

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> lam = np.linspace(1.0, 10.0, 50)
    >>> f = hp.functions.quadratic(np.diag(lam))
    >>> sd = hp.spectral_density(f, np.zeros(50), vectors=4, steps=20)
    >>> bool(np.isclose(sd.moment(1), lam.mean())), bool(np.isclose(sd.moment(2), (lam**2).mean()))
    (True, True)
    """
    op = HessianOperator(source, x, scheme=scheme, step=step, threads=threads)
    n = op.shape[0]
    nvec = as_count(vectors, "vectors")
    m = min(as_count(steps, "steps"), n)
    s = as_seed(seed)
    # the Lanczos bases of a group: _GROUP x steps x n values
    need = f"steps={m} with x of length n={n} ({8 * _GROUP} steps n bytes)"
    check_memory(8 * _GROUP * m * n, need)
    if sigma is not None and not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma!r}")
    nodes: list[NDArray[np.float64]] = []
    weights: list[NDArray[np.float64]] = []
    groups = range(0, nvec, _GROUP)
    with reporter(progress, len(groups) * m, "Lanczos steps") as report:
        for g, first in enumerate(groups):
            starts = _core.rademacher(s, first, min(_GROUP, nvec - first), n)
            on_step = None if report.hook is None else partial(_report_from, report, g * m)
            for a, b in _lanczos_group(op, starts, m, on_step):
                theta, U = eigh_tridiagonal(a, b)
                nodes.append(theta)
                weights.append(U[0] ** 2 / nvec)
        report.finish()
    node = np.concatenate(nodes)
    weight = np.concatenate(weights)
    spread = float(node.max() - node.min())
    width = float(sigma) if sigma is not None else 0.01 * (spread or max(1.0, abs(node[0])))
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
        points = as_count(grid, "grid", minimum=2)
        where = np.linspace(node.min() - 5 * width, node.max() + 5 * width, points)
    else:
        where = as_point(grid, "grid")
    z = (where[:, None] - node[None, :]) / width
    density = np.exp(-0.5 * z * z) @ weight / (width * math.sqrt(2.0 * math.pi))
    return SpectralDensity(where, density, node, weight, width, nvec, m)


def plot_spectral_density(
    sd: SpectralDensity, ax: Any = None, *, log: bool = True, **kwargs: Any
) -> Any:
    """Plot a :class:`SpectralDensity` with matplotlib (imported only here).

    Parameters
    ----------
    sd : SpectralDensity
    ax : matplotlib Axes, optional
        Where to draw; default a new figure's axes.
    log : bool, optional
        Logarithmic density axis (as PyHessian draws it), default True.
    **kwargs
        Passed on to ``ax.plot``.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> sd = hp.spectral_density(hp.functions.rosenbrock(), np.zeros(20), steps=10)
    >>> ax = hp.plot_spectral_density(sd)  # doctest: +SKIP
    """
    if not isinstance(sd, SpectralDensity):
        raise TypeError(f"sd must be a SpectralDensity, got {type(sd).__name__}")
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "plotting a spectral density needs matplotlib: pip install matplotlib"
        ) from err
    if ax is None:
        _, ax = plt.subplots()
    ax.plot(sd.grid, sd.density, **kwargs)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    return ax
