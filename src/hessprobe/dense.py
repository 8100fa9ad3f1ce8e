"""The dense Hessian of a gradient source, from its columns H e_j."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike, NDArray

from ._validation import as_count, check_memory, resolve_threads
from .distributed import attach
from .kinds.base import Prepared
from .kinds.finite_difference import column_step
from .kinds.gradient import Scheme
from .progress import Progress
from .sources import prepare
from .sparsity import structure_of
from .structured import band_classes, coloured_products, kernel_done, recovered_hessian

__all__ = ["column_step", "hessian"]


def hessian(
    source: Any,
    x: ArrayLike,
    *,
    scheme: Scheme | None = None,
    step: float | None = None,
    threads: int | None = None,
    block: int = 64,
    bandwidth: int | None = None,
    sparsity: Any = None,
    sparse: bool | None = None,
    progress: Progress = None,
    executor: Executor | None = None,
) -> Any:
    """Return the Hessian H(x): from one HVP per colour of its structure, or per column.

    The structure is found once (:mod:`hessprobe.sparsity`): ``bandwidth=`` or a
    ``sparsity=`` pattern; else a built-in's band from the core, or the pattern of a
    user's NumPy gradient detected by one call on index-set tracers (cached per gradient
    and n).  A band or pattern is recovered exactly (to the HVPs' accuracy) from one
    HVP per colour (:func:`hessprobe.colouring`: 2b + 1 HVPs for half-bandwidth b,
    whatever n).  A dense H, or one whose structure cannot be known (a native gradient,
    NumPy code the tracer cannot follow), takes its n columns.

    The type depends on the arguments only: with ``bandwidth`` or a ``sparsity``
    pattern a ``scipy.sparse.csr_array`` (n, n) holding the band's or pattern's
    entries, otherwise a dense ndarray (n, n); ``sparse=True`` or ``False`` asks for
    one or the other (a detected pattern as CSR: ``sparse=True``).

    The columns are computed ``block`` at a time.  For a built-in they are exact (dual
    numbers, 8 columns a pass) and the result is not symmetrised: it is symmetric to
    rounding.  For a gradient callable they are finite differences of the gradient, and
    the result is symmetrised, (H + H') / 2, which never increases the error.

    Error of a finite-difference Hessian (entry (i, j), step h, H is symmetrised after):

    * ``"central"``: (h^2 / 6) |d^3 g_i / dx_j^3| + ~eps S_i / h, where S_i is the size
      of the terms that make up g_i.  With the default h = 6.1e-6 (1 + rms(x))
      (:func:`column_step`): for the extended Rosenbrock function, whose only third
      derivative along a coordinate is d^3 g_j / dx_j^3 = 2400, the diagonal is off by
      400 h^2 ~ 1.5e-8 (1 + rms(x))^2 and the rest by rounding only.  Measured at n = 50,
      x ~ U(-2, 2), max |H| = 5.1e3: 7.4e-8 on the diagonal, 2.4e-8 off it (1.5e-11
      relative).
    * ``"forward"``: (h / 2) |d^2 g_i / dx_j^2| + ~2 eps S_i / h, with h = 1.5e-8
      (1 + rms(x)): same case, 9.3e-5 (2e-8 relative): 1000 times worse than central
      for half the gradient calls.
    * ``"complex"``: rounding only, for a gradient that takes complex input: same case,
      9e-13 (2e-16 relative).

    Parameters
    ----------
    source : Function, callable, Gradient or scipy.LowLevelCallable
        As for :func:`hessprobe.hvp`.
    x : array_like, shape (n,)
        The point.
    scheme, step : optional
        Finite-difference options of a gradient callable; the default step here is the
        unit-direction step of :func:`column_step` (a source's own ``Gradient.step`` is
        used when it has one).
    threads : int, optional
        Threads (default all cores).
    block : int, optional
        Columns per engine call (memory: block x n besides H).
    bandwidth : int, optional
        Half-bandwidth b of H (H_ij = 0 for |i - j| > b): 2b + 1 HVPs.
    sparsity : scipy.sparse matrix (n, n) or {"auto", "global", "local", "dense"}, optional
        Where H may be nonzero (symmetric, or one triangle): star colouring in the core
        with direct recovery, one HVP per colour (:func:`hessprobe.colouring`).  Or how
        to find it, as for :func:`hessprobe.hessian_diag` (default ``"auto"``: detect,
        else every column; ``"dense"``: every column).
    sparse : bool, optional
        Return a ``scipy.sparse.csr_array`` (True) or an ndarray (False); by default
        CSR exactly when ``bandwidth`` or a ``sparsity`` pattern is given.
    progress : bool or callable, optional
        ``True`` for a bar, or ``progress(done, total)`` with the columns (colours) done
        after each block of them (:mod:`hessprobe.progress`).
    executor : concurrent.futures.Executor, optional
        Compute each block's column (colour) HVPs on this executor's workers, bitwise
        as locally (:mod:`hessprobe.distributed`); ``threads`` is then per worker.  A dense
        built-in's own Hessian kernel is one core call and runs in the caller.

    Returns
    -------
    ndarray (n, n), or scipy.sparse.csr_array (n, n) (see ``sparse``)

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import rosen_der, rosen_hess
    >>> import hessprobe as hp
    >>> x = np.array([0.5, -0.3, 1.2])
    >>> bool(np.allclose(hp.hessian(hp.functions.rosenbrock(), x), rosen_hess(x),
    ...                  rtol=1e-14, atol=0))
    True
    >>> H = hp.hessian(rosen_der, x)
    >>> bool(np.abs(H - rosen_hess(x)).max() < 1e-7 * np.abs(rosen_hess(x)).max())
    True

    Banded: the tridiagonal Rosenbrock Hessian from 3 HVPs, as a sparse matrix:

    >>> x = np.linspace(-1.0, 1.5, 10_000)
    >>> Hs = hp.hessian(hp.functions.rosenbrock(), x, bandwidth=1)
    >>> Hs.format, Hs.nnz
    ('csr', 29998)
    >>> bool(np.array_equal(Hs.diagonal(), hp.functions.rosenbrock().hessian_diag(x)))
    True

    A user's NumPy gradient, its tridiagonal pattern detected, exact by dual numbers:

    >>> Hd = hp.hessian(rosen_der, x, scheme="dual", sparse=True)
    >>> Hd.nnz, bool(abs(Hd - Hs).max() <= 1e-13 * abs(Hs).max())  # bitwise in the baseline build
    (29998, True)
    """
    local = prepare(source, x, scheme, step)
    structure = structure_of(local, bandwidth=bandwidth, sparsity=sparsity)
    prepared = attach(local, executor, source, scheme, step, threads)
    nthreads = resolve_threads(threads)
    cols = as_count(block, "block")
    n = prepared.n
    given = bandwidth is not None or (sparsity is not None and not isinstance(sparsity, str))
    as_sparse = given if sparse is None else bool(sparse)
    if structure.sparse:
        H = recovered_hessian(prepared, structure, nthreads, progress)
        if as_sparse:
            return H
        check_memory(8 * n * n, f"the dense Hessian of x of length n={n} (8 n^2 bytes)")
        return H.toarray()
    check_memory(8 * n * n, f"the dense Hessian of x of length n={n} (8 n^2 bytes)")
    dense = _columns(prepared, nthreads, cols, progress)
    return scipy.sparse.csr_array(dense) if as_sparse else dense


def _columns(
    prepared: Prepared, threads: int, block: int, progress: Progress
) -> NDArray[np.float64]:
    """Return the dense H from its n columns (the kind's own kernel, or HVPs H e_j)."""
    n = prepared.n
    own = prepared.hessian_kernel(threads)
    if own is not None:
        kernel_done(progress, n)
        return own
    H = np.empty((n, n))
    # Colour j = column j: row j of each block's products is the column H e_j, which
    # for a symmetric H is its row j.
    for first, HE in coloured_products(prepared, band_classes(n, n - 1), threads, block, progress):
        H[first : first + HE.shape[0]] = HE
    if not prepared.exact:
        H += H.T
        H *= 0.5
    return H
