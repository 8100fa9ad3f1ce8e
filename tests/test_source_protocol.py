"""The prepared-source protocol: a kind of source defined outside the package, by the
operations of hessprobe.kinds.base alone, works at every entry point.

Reference: the built-in quadratic with the same matrix (exact dual-number HVPs), and
NumPy's A @ v.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from compiled_cases import HAS_COMPILER, compiled_quadratic
from numpy.testing import assert_allclose

import hessprobe as hp
from hessprobe import _core
from hessprobe.kinds.base import Prepared, Source

N = 40
RNG = np.random.default_rng(17)
B = RNG.standard_normal((N, N))
A = B @ B.T / N + np.eye(N)  # symmetric positive definite
b = RNG.standard_normal(N)
TOL = 1e-12  # A @ v against the dual-number sums: rounding only


class MatrixSource(Source):
    """f(x) = 1/2 x'Ax + b'x with H = A, products by NumPy: a kind of our own."""

    exact = True

    def __repr__(self) -> str:
        return "MatrixSource()"

    def at(self, x):
        return MatrixPrepared(self, np.asarray(x, dtype=np.float64))


class MatrixPrepared(Prepared):
    def hvp(self, V, threads):
        return V @ A

    def probe(self, probes, seed, threads, diagonal, tol, progress=None):
        V = _core.rademacher(seed, 0, probes, self.n)  # the probes every source uses
        S = V * self.hvp(V, threads)
        t = S.sum(axis=1)
        k = np.sqrt(probes)
        d, e = (S.mean(0), S.std(0, ddof=1) / k) if diagonal else (None, None)
        return d, e, float(t.mean()), float(t.std(ddof=1) / k), t

    def gradient(self, threads):
        return A @ self.point + b


class Wrapper:
    """A user's object that offers itself as a source."""

    def __hessprobe_source__(self) -> Source:
        return MatrixSource()


BUILTIN = hp.functions.quadratic(A, b)
X = RNG.standard_normal(N)
V = RNG.standard_normal((3, N))

ENTRIES = {
    "hvp": lambda s: hp.hvp(s, X, V),
    "hessp": lambda s: hp.hessp(s)(X, V[0]),
    "HessianOperator.matmat": lambda s: hp.HessianOperator(s, X).matmat(V.T),
    "hessian": lambda s: hp.hessian(s, X),
    "hessian_diag": lambda s: hp.hessian_diag(s, X),
    "hessian_diag[bandwidth]": lambda s: hp.hessian_diag(s, X, bandwidth=N - 1),
    "hessian[sparse]": lambda s: hp.hessian(s, X, bandwidth=3).toarray(),
    "hutchinson_diag": lambda s: hp.hutchinson_diag(s, X, 64, seed=3).value,
    "hutchinson_trace": lambda s: hp.hutchinson_trace(s, X, 64, seed=3).value,
    "xtrace": lambda s: hp.trace(s, X, 20, method="xtrace", seed=2).value,
    "diag++": lambda s: hp.diagonal(s, X, 21, method="diag++", seed=2).value,
    "eigenvalues": lambda s: hp.eigenvalues(s, X, k=3)[0],
    "spectral_density": lambda s: hp.spectral_density(s, X, vectors=2, steps=10).density,
    "AdaHessian.step": lambda s: hp.optim.AdaHessian(hvps=8).step(s, X),
}


@functools.cache
def _compiled() -> object:
    """The same quadratic in C++, A and b passed as params (hp.compile_gradient)."""
    if not HAS_COMPILER:
        pytest.skip("no C++ compiler on PATH")
    return compiled_quadratic(A, b)


_DATA = np.concatenate([A.ravel(), b])  # what the tangent callback's user_data points at


def _tangent(request: pytest.FixtureRequest) -> object:
    """The same quadratic as a tangent callback (tests/native/cy_tangent.pyx)."""
    import ctypes

    import scipy

    module = request.getfixturevalue("cython_tangent")
    data = ctypes.c_void_p(_DATA.ctypes.data)
    return hp.Tangent(
        scipy.LowLevelCallable.from_cython(module, "quadratic_tangent", user_data=data)
    )


def dual_gradient(x):
    """The quadratic's gradient in NumPy, evaluated on dual numbers: a kind of the package."""
    return A @ np.asarray(x) + b


@pytest.mark.parametrize(
    "source",
    [
        MatrixSource(),
        Wrapper(),
        hp.Gradient(dual_gradient, scheme="dual"),
        "compiled",
        "tangent",
    ],
    ids=["Source", "protocol", "dual", "compiled", "tangent"],
)
@pytest.mark.parametrize("entry", list(ENTRIES))
def test_an_outside_kind_works_at_every_entry_point(entry, source, request):
    if source == "compiled":
        source = _compiled()
    elif source == "tangent":
        source = _tangent(request)
    got = np.asarray(ENTRIES[entry](source))
    want = np.asarray(ENTRIES[entry](BUILTIN))
    scale = np.abs(want).max()
    assert_allclose(got, want, rtol=0, atol=TOL * max(scale, 1.0) * N)


def test_an_exact_kind_refuses_finite_difference_options():
    with pytest.raises(ValueError, match="scheme and step"):
        hp.hvp(MatrixSource(), X, V[0], scheme="forward")


def test_an_outside_kind_is_not_called_with_a_bad_budget():
    with pytest.raises(ValueError, match=r"\bhvps\b"):
        hp.hutchinson_diag(MatrixSource(), X, 0)
