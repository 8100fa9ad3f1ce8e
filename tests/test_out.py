"""``out=`` on hvp and hessian_diag, in the NumPy manner.

Specified: the result is written into ``out`` and ``out`` itself is returned; the values
are bitwise those of the call without ``out`` (the same kernel, only the memory differs),
whatever ``out`` held before; a bad ``out`` (not an ndarray, not float64, wrong shape,
not C-contiguous, read-only, sharing memory with x or v) is a clear error naming it.
"""

from __future__ import annotations

import numpy as np
import pytest
from compiled_cases import HAS_COMPILER, compiled
from scipy.optimize import rosen_der

import hessprobe as hp

N = 300


def _source(kind: str):
    if kind == "builtin":
        return hp.functions.rosenbrock()
    if kind == "compiled":
        if not HAS_COMPILER:
            pytest.skip("no C++ compiler")
        return compiled("rosenbrock_copy")
    if kind == "central":
        return rosen_der
    if kind == "vectorized":  # finite differences of a block of points a call
        return hp.Gradient(lambda X: np.stack([rosen_der(p) for p in X]), vectorized=True)
    return hp.Gradient(rosen_der, scheme="dual")


KINDS = ["builtin", "compiled", "central", "vectorized", "dual"]


@pytest.fixture
def point():
    rng = np.random.default_rng(3)
    return rng.uniform(-2.0, 2.0, N), rng.standard_normal(N), rng.standard_normal((11, N))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", ["single", "block"])
def test_hvp_writes_into_out(kind, shape, point):
    x, v, V = point
    src = _source(kind)
    d = v if shape == "single" else V
    want = hp.hvp(src, x, d)
    out = np.full(d.shape, np.nan)  # old contents must not leak into the result
    got = hp.hvp(src, x, d, out=out)
    assert got is out
    np.testing.assert_array_equal(out, want)
    hp.hvp(src, x, 2.0 * d, out=out)  # reused: overwritten, not accumulated
    np.testing.assert_array_equal(out, hp.hvp(src, x, 2.0 * d))


@pytest.mark.parametrize("kind", KINDS)
def test_hessian_diag_writes_into_out(kind, point):
    x, _, _ = point
    src = _source(kind)
    want = hp.hessian_diag(src, x)
    out = np.full(N, np.nan)
    assert hp.hessian_diag(src, x, out=out) is out
    np.testing.assert_array_equal(out, want)


def test_the_function_methods_take_out(point):
    x, _, V = point
    f = hp.functions.rosenbrock()
    out, diag = np.empty_like(V), np.empty(N)
    assert f.hvp(x, V, out=out) is out and f.hessian_diag(x, out=diag) is diag
    np.testing.assert_array_equal(out, f.hvp(x, V))
    np.testing.assert_array_equal(diag, f.hessian_diag(x))


def test_hessian_diag_with_a_given_band_writes_into_out(point):
    x, _, _ = point
    out = np.empty(N)
    got = hp.hessian_diag(rosen_der, x, bandwidth=1, out=out)
    assert got is out
    np.testing.assert_array_equal(out, hp.hessian_diag(rosen_der, x, bandwidth=1))


@pytest.mark.parametrize(
    ("make_out", "error", "match"),
    [
        (lambda x, v: [0.0] * N, TypeError, "out must be a numpy.ndarray"),
        (lambda x, v: np.empty(N, dtype=np.float32), TypeError, "out must have dtype float64"),
        (lambda x, v: np.empty(N + 1), ValueError, r"out must have shape \(300,\)"),
        (lambda x, v: np.empty(2 * N)[::2], ValueError, "out must be C-contiguous"),
        (lambda x, v: v, ValueError, "out must not share memory"),
        (lambda x, v: x, ValueError, "out must not share memory"),
    ],
)
def test_a_bad_out_is_refused(make_out, error, match, point):
    x, v, _ = point
    with pytest.raises(error, match=match):
        hp.hvp(hp.functions.rosenbrock(), x, v, out=make_out(x, v))


def test_a_read_only_out_is_refused(point):
    x, v, _ = point
    out = np.empty(N)
    out.setflags(write=False)
    with pytest.raises(ValueError, match="out must be writeable"):
        hp.hvp(hp.functions.rosenbrock(), x, v, out=out)
    with pytest.raises(ValueError, match="out must be writeable"):
        hp.hessian_diag(hp.functions.rosenbrock(), x, out=out)


def test_hessian_diag_refuses_an_out_of_the_wrong_shape(point):
    x, _, _ = point
    with pytest.raises(ValueError, match=r"out must have shape \(300,\)"):
        hp.hessian_diag(rosen_der, x, out=np.empty((1, N)))


@pytest.mark.parametrize("kind", KINDS)
def test_the_operator_writes_its_products_into_out(kind, point):
    x, v, V = point
    H = hp.HessianOperator(_source(kind), x)
    hv, HV = np.full(N, np.nan), np.full(V.shape, np.nan)
    assert H.hvp(v, out=hv) is hv and H.hvp(V, out=HV) is HV
    np.testing.assert_array_equal(hv, H.matvec(v))
    np.testing.assert_array_equal(HV, H.matmat(V.T).T)
    assert (H.calls, H.products) == (4, 2 + 2 * len(V))
    with pytest.raises(ValueError, match="out must not share memory"):
        H.hvp(v, out=v)
    with pytest.raises(ValueError, match=r"out must have shape \(11, 300\)"):
        H.hvp(V, out=hv)
