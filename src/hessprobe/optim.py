"""Optimizers driven by curvature estimates: AdaHessian.

Examples
--------
>>> import numpy as np
>>> import hessprobe as hp
>>> f = hp.functions.quadratic(np.diag([1.0, 10.0, 100.0]), np.array([1.0, 1.0, 1.0]))
>>> res = hp.optim.AdaHessian(lr=0.5).minimize(f, np.zeros(3), gtol=1e-10)
>>> bool(res.success), np.round(res.x, 8)
(True, array([-1.  , -0.1 , -0.01]))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_count, as_point, as_seed, resolve_threads
from .estimators import hutchinson
from .kinds.base import Prepared
from .progress import Progress, reporter
from .sources import Scheme, resolve

__all__ = ["AdaHessian", "OptimizeResult", "block_average"]


@dataclass(frozen=True)
class OptimizeResult:
    """What :meth:`AdaHessian.minimize` returns.

    Attributes
    ----------
    x : ndarray
        The last iterate.
    fun : float or None
        f(x), when the objective's value is known (a built-in, or ``fun=`` given).
    nit : int
        Steps taken.
    success : bool
        Whether max |g| <= gtol was reached.
    message : str
    history : dict of ndarray
        ``"fun"`` (when known) and ``"grad_norm"`` (max |g|) at x0 and after every step,
        ``nit + 1`` entries each.
    """

    x: NDArray[np.float64]
    fun: float | None
    nit: int
    success: bool
    message: str
    history: dict[str, NDArray[np.float64]]


def block_average(d: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Replace each run of ``size`` consecutive entries by its mean (the last run may be short).

    AdaHessian's spatial averaging: it smooths the noisy Hutchinson diagonal over
    parameters that play the same role (the paper averages over a convolution kernel).
    """
    if size == 1:
        return d
    starts = np.arange(0, d.shape[0], size)
    counts = np.diff(np.append(starts, d.shape[0]))
    means = np.add.reduceat(d, starts) / counts
    out: NDArray[np.float64] = np.repeat(means, counts)
    return out


class AdaHessian:
    """The AdaHessian optimizer (Yao et al., "ADAHESSIAN", arXiv 2006.00719), in NumPy.

    Adam with the squared gradient replaced by the squared Hessian diagonal, estimated at
    every step by Hutchinson's method (:func:`hessprobe.hutchinson_diag`).  At step t,
    with gradient g and diagonal estimate D (block-averaged over ``block_size``):

    * m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) D * D;
    * x <- x - lr [ (m / (1 - beta1^t)) / ((sqrt(v / (1 - beta2^t)))^k + eps)
      + weight_decay x ],

    with k the Hessian power (the paper's Algorithm 1; weight decay is decoupled, as in
    the authors' code, and off by default).

    Parameters
    ----------
    lr : float, optional
        Learning rate (the paper's default 0.15).
    betas : (float, float), optional
        Momentum coefficients of the first and second moments, each in [0, 1).
    eps : float, optional
        Added to the denominator (the paper's default 1e-4).
    weight_decay : float, optional
        Decoupled weight decay, >= 0.
    hessian_power : float, optional
        k in (0, 1]: 1 is a Newton-like step, 0.5 is closer to Adam.
    block_size : int, optional
        Spatial averaging of the diagonal over runs of this many coordinates (1: none).
    hvps : int, optional
        Rademacher probes (HVPs) per step (the paper uses 1).
    seed : int, optional
        Step t (from 1) uses the probes of seed ``seed + t - 1``.
    scheme, step, threads : optional
        As for :func:`hessprobe.hutchinson_diag`.

    Attributes
    ----------
    t : int
        Steps taken since the last :meth:`reset`.

    Examples
    --------
    >>> import numpy as np
    >>> import hessprobe as hp
    >>> f = hp.functions.rosenbrock()
    >>> opt = hp.optim.AdaHessian(lr=0.1)
    >>> x = np.zeros(4)
    >>> for _ in range(3):
    ...     x = opt.step(f, x)
    >>> opt.t, bool(f.value(x) < f.value(np.zeros(4)))
    (3, True)
    """

    def __init__(
        self,
        lr: float = 0.15,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-4,
        weight_decay: float = 0.0,
        hessian_power: float = 1.0,
        block_size: int = 1,
        hvps: int = 1,
        *,
        seed: int = 0,
        scheme: Scheme | None = None,
        step: float | None = None,
        threads: int | None = None,
    ) -> None:
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        if not (math.isfinite(eps) and eps >= 0):
            raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
        if not (math.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
        if not (0.0 < hessian_power <= 1.0):
            raise ValueError(f"hessian_power must be in (0, 1], got {hessian_power!r}")
        self.lr = float(lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.hessian_power = float(hessian_power)
        self.block_size = as_count(block_size, "block_size")
        self.hvps = as_count(hvps, "hvps")
        self.seed = as_seed(seed)
        self._fd: dict[str, Any] = {"scheme": scheme, "step": step}
        self._threads = resolve_threads(threads)
        self.reset()

    def reset(self) -> None:
        """Forget the moments and the step count."""
        self.t = 0
        self._m: NDArray[np.float64] | None = None
        self._v: NDArray[np.float64] | None = None

    def step(
        self, source: Any, x: ArrayLike, *, grad: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Take one step from ``x`` and return the new point.

        Parameters
        ----------
        source : Function, callable or Gradient
            The objective's gradient (as for :func:`hessprobe.hutchinson_diag`).
        x : array_like, shape (n,)
            The current point.
        grad : array_like, optional
            g(x) when the caller already has it (saves a gradient evaluation).

        Returns
        -------
        ndarray, shape (n,)
        """
        return self._step(resolve(source, **self._fd).at(x), grad)

    def _step(self, prepared: Prepared, grad: ArrayLike | None) -> NDArray[np.float64]:
        point = prepared.point
        if grad is None:
            g = prepared.gradient(self._threads)
        else:
            g = as_point(grad, "grad")
            if g.shape != point.shape:
                raise ValueError(f"grad must have the shape of x, {point.shape}, got {g.shape}")
        if self._m is not None and self._m.shape != point.shape:
            raise ValueError(
                f"x has length {point.shape[0]} but this optimizer's state has length "
                f"{self._m.shape[0]}: call reset() for a new problem"
            )
        seed = self.seed + self.t
        diag, *_ = hutchinson(prepared, self.hvps, seed, self._threads, True, 0.0)
        assert diag is not None  # a diagonal run returns it
        d = block_average(diag, self.block_size)
        beta1, beta2 = self.betas
        self.t += 1
        if self._m is None or self._v is None:
            self._m, self._v = np.zeros_like(point), np.zeros_like(point)
        self._m = beta1 * self._m + (1.0 - beta1) * g
        self._v = beta2 * self._v + (1.0 - beta2) * d * d
        m_hat = self._m / (1.0 - beta1**self.t)
        denom = np.sqrt(self._v / (1.0 - beta2**self.t)) ** self.hessian_power + self.eps
        result: NDArray[np.float64] = point - self.lr * (m_hat / denom + self.weight_decay * point)
        return result

    def minimize(
        self,
        source: Any,
        x0: ArrayLike,
        *,
        fun: Callable[[NDArray[np.float64]], float] | None = None,
        maxiter: int = 1000,
        gtol: float = 1e-8,
        callback: Callable[[NDArray[np.float64]], Any] | None = None,
        progress: Progress = None,
    ) -> OptimizeResult:
        """Minimize from ``x0`` by AdaHessian steps (starting from a fresh state).

        Parameters
        ----------
        source : Function, callable or Gradient
            The objective's gradient.  A built-in also gives the objective's value.
        x0 : array_like, shape (n,)
            The start.
        fun : callable, optional
            f(x), recorded in the history (default: a built-in's value, else none).
        maxiter : int, optional
            Maximum number of steps.
        gtol : float, optional
            Stop when max |g(x)| <= gtol.
        callback : callable, optional
            Called as ``callback(x)`` after every step; returning True stops the run.
        progress : bool or callable, optional
            ``True`` for a bar, or ``progress(done, maxiter)`` after every step; a run
            that stops early ends with ``(steps, steps)`` (:mod:`hessprobe.progress`).

        Returns
        -------
        OptimizeResult
        """
        steps = as_count(maxiter, "maxiter", minimum=0)
        if not (math.isfinite(gtol) and gtol >= 0):
            raise ValueError(f"gtol must be a finite number >= 0, got {gtol!r}")
        if fun is not None and not callable(fun):
            raise TypeError(f"fun must be callable, got {type(fun).__name__}")
        kind = resolve(source, **self._fd)
        self.reset()
        x = as_point(x0, "x0").copy()
        values: list[float] = []
        norms: list[float] = []

        def observe(x: NDArray[np.float64]) -> tuple[Prepared, NDArray[np.float64]]:
            prepared = kind.at(x)
            g = prepared.gradient(self._threads)
            norms.append(float(np.abs(g).max()))
            value = prepared.value() if fun is None else float(fun(x))
            if value is not None:
                values.append(value)
            return prepared, g

        message = f"maxiter = {steps} steps reached"
        success = False
        with reporter(progress, steps, "AdaHessian steps") as report:
            while True:
                prepared, g = observe(x)
                if norms[-1] <= gtol:
                    success, message = True, f"max |g| <= gtol = {gtol}"
                    break
                if self.t >= steps:
                    break
                x = self._step(prepared, g)
                report(self.t)
                if callback is not None and callback(x.copy()) is True:
                    message = "stopped by the callback"
                    observe(x)
                    break
            report.finish(self.t)
        history = {"grad_norm": np.array(norms)}
        if values:
            history["fun"] = np.array(values)
        return OptimizeResult(x, values[-1] if values else None, self.t, success, message, history)
