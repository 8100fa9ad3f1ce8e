"""Every NumPy operation the dual dtype supports, against central differences; every one
it does not, named, raising TypeError with a pointer to the finite-difference schemes.

Each case is a map g: R^6 -> R^6 written as gradient code would write it; the dual
scheme returns its Jacobian-vector product J(x) v (for a gradient, H v).  Reference:
(g(x + h v) - g(x - h v)) / 2h with h = 1e-6, whose error is at most h^2/6 |g'''| +
eps |g| / h ~ 1e-12 + 2e-10 on the bounded inputs below: tolerance 1e-6 of the scale.
Inputs are kept 0.05 away from the kinks of the piecewise operations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import hessprobe as hp

N = 6
A = np.random.default_rng(0).standard_normal((N, N))
c = np.random.default_rng(1).standard_normal(N)


def in_place(x):
    g = np.zeros_like(x)
    g[1:-1] = x[2:] - x[:-2] ** 2
    g[0] = -400 * x[0] * (x[1] - x[0] ** 2)
    g[-1] += x[1]
    g[[1, 3]] += x[[2, 4]] ** 2
    g *= 2
    g += x
    g -= 0.5 * x
    g /= 3
    h = x.copy()
    h **= 2
    return g + h


def empty_like_then_fill(x):
    g = np.empty_like(x)
    g[:] = np.sin(x)
    g[::2] = x[::2] ** 3
    return g


def scalar_arithmetic(x):
    g = np.zeros_like(x)
    for i in range(N):
        g[i] = x[i] * x[(i + 1) % N] + 2.0 * x[i] - x[i] / 3.0 + x[i] ** 2
    return g


def dtype_new_arrays(x):
    g = np.zeros(x.shape, dtype=x.dtype)
    g += np.full_like(x, 2.0) * x
    return g + np.ones_like(x) * x**2


def reductions(x):
    M = x.reshape(2, 3)
    return np.concatenate([M.sum(axis=0), M.mean(axis=1), [np.prod(x)]]) * np.var(x) + np.std(x)


def extrema(x):
    return x * np.max(x) + np.min(x) + np.abs(x).max() * np.linalg.norm(x)


def broadcasting(x):
    M = x.reshape(2, 3)
    return ((M + x[:3]) * c.reshape(2, 3) - M.T.ravel().reshape(2, 3)).ravel() + (
        x[:, None] * c[None, :]
    ).sum(axis=1)


CASES = {
    # unary ufuncs, each on a domain where it is smooth
    "negative": (lambda x: -x, (-2, 2)),
    "positive": (lambda x: +x * x, (-2, 2)),
    "exp": (np.exp, (-2, 2)),
    "exp2": (np.exp2, (-2, 2)),
    "expm1": (np.expm1, (-2, 2)),
    "log": (np.log, (0.2, 3)),
    "log2": (np.log2, (0.2, 3)),
    "log10": (np.log10, (0.2, 3)),
    "log1p": (np.log1p, (-0.5, 3)),
    "sqrt": (np.sqrt, (0.2, 3)),
    "cbrt": (np.cbrt, (0.2, 3)),
    "square": (np.square, (-2, 2)),
    "reciprocal": (np.reciprocal, (0.3, 3)),
    "sin": (np.sin, (-3, 3)),
    "cos": (np.cos, (-3, 3)),
    "tan": (np.tan, (-1.2, 1.2)),
    "arcsin": (np.arcsin, (-0.8, 0.8)),
    "arccos": (np.arccos, (-0.8, 0.8)),
    "arctan": (np.arctan, (-3, 3)),
    "sinh": (np.sinh, (-2, 2)),
    "cosh": (np.cosh, (-2, 2)),
    "tanh": (np.tanh, (-2, 2)),
    "arcsinh": (np.arcsinh, (-2, 2)),
    "arccosh": (np.arccosh, (1.2, 3)),
    "arctanh": (np.arctanh, (-0.8, 0.8)),
    "abs": (lambda x: np.abs(x) * x, (0.05, 2)),
    "abs_negative": (lambda x: np.abs(x) * x, (-2, -0.05)),
    "fabs": (np.fabs, (0.05, 2)),
    "sign": (lambda x: np.sign(x) * x**2, (0.05, 2)),
    "floor_ceil_rint_trunc": (
        lambda x: np.floor(3 * x) + np.ceil(x) + np.rint(x) + np.trunc(x) + x,
        (-2, 2),
    ),
    "conjugate": (lambda x: np.conjugate(x) * x, (-2, 2)),
    # binary ufuncs: dual with dual, with a constant array, with a Python number
    "add": (lambda x: x + x[::-1] + c + 1, (-2, 2)),
    "subtract": (lambda x: x - x[::-1] - c - 1.5, (-2, 2)),
    "multiply": (lambda x: x * x[::-1] * c * 3, (-2, 2)),
    "divide": (lambda x: x / x[::-1] / c + 1 / x + 2 / x**2, (0.3, 2)),
    "power": (lambda x: x**2.5 + x ** x[::-1] + 2.0**x + x**3 + x**0.5 + x**-1, (0.3, 2)),
    "arctan2": (
        lambda x: np.arctan2(x, x[::-1]) + np.arctan2(x, 2.0) + np.arctan2(1.0, x),
        (0.3, 2),
    ),
    "hypot": (lambda x: np.hypot(x, x[::-1]) + np.hypot(x, 1.0), (0.3, 2)),
    "logaddexp": (lambda x: np.logaddexp(x, x[::-1] * 0.7) + np.logaddexp(0, x), (-2, 2)),
    "maximum_minimum": (
        lambda x: np.maximum(x, 0.0) + np.minimum(x, c) + np.maximum(x, x[::-1] * 0.5),
        (-2, 2),
    ),
    "fmax_fmin": (lambda x: np.fmax(x, 0.0) + np.fmin(x**2, 1.0), (-2, 2)),
    "comparisons": (lambda x: np.where(x > 0.0, x**2, np.sin(x)) + (x <= 1.0) * x, (-2, 2)),
    "isfinite": (lambda x: np.where(np.isfinite(x) & ~np.isnan(x), x**2, 0.0), (-2, 2)),
    "int_and_float32_operands": (
        lambda x: x * np.arange(N) + x * np.float32(2.0) + np.int64(3) * x,
        (-2, 2),
    ),
    "clip": (lambda x: np.clip(x, -0.5, 0.5) * x + np.clip(x, x[::-1] * 0.1, 3), (-2, 2)),
    # array functions
    "matmul_constant": (lambda x: A @ x + x @ A, (-2, 2)),
    "matmul_dual": (lambda x: np.outer(x, x) @ x + x @ x * x, (-2, 2)),
    "dot": (lambda x: np.dot(A, x) + np.dot(x, A) + np.dot(x, x) * x, (-2, 2)),
    "inner_tensordot": (lambda x: np.inner(x, c) * x + np.tensordot(A, x, axes=1), (-2, 2)),
    "concatenate_stack": (
        lambda x: np.concatenate([x[:2] ** 2, x[2:]]) + np.stack([x, x**2]).sum(axis=0),
        (-2, 2),
    ),
    "hstack_vstack": (lambda x: np.hstack([x[:3], x[3:] * 2]) + np.vstack([x, x]).mean(0), (-2, 2)),
    "roll": (lambda x: np.roll(x, 2) * x + np.roll(x, -1), (-2, 2)),
    "diff": (lambda x: np.concatenate([np.diff(x), x[:1]]) * x, (-2, 2)),
    "cumsum_cumprod": (lambda x: np.cumsum(x) + np.cumprod(x), (-2, 2)),
    "outer": (lambda x: np.outer(x, c).sum(axis=1) + np.outer(c, x).sum(axis=0), (-2, 2)),
    "where_constant": (lambda x: np.where(x > 0.0, x, 0.0) + np.where(x < 0.0, 1.0, x**2), (-2, 2)),
    "pad_flip_tile": (lambda x: np.pad(x, 1)[1:-1] * np.flip(x) + np.tile(x[:3], 2), (-2, 2)),
    "sort": (lambda x: np.sort(x) * x, (-2, 2)),
    "reshape_transpose": (lambda x: (x.reshape(2, 3).T * c.reshape(3, 2)).ravel(), (-2, 2)),
    "broadcasting": (broadcasting, (-2, 2)),
    "reductions": (reductions, (-2, 2)),
    "extrema": (extrema, (-2, 2)),
    "in_place": (in_place, (-2, 2)),
    "empty_like_then_fill": (empty_like_then_fill, (-2, 2)),
    "scalar_arithmetic": (scalar_arithmetic, (-2, 2)),
    "dtype_new_arrays": (dtype_new_arrays, (-2, 2)),
    # scipy.special
    "expit": (scipy.special.expit, (-4, 4)),
    "log_expit": (scipy.special.log_expit, (-4, 4)),
    "erf": (scipy.special.erf, (-2, 2)),
}


def gap_to(points):
    """Distance from x to the nearest of fixed kinks."""
    return lambda x: np.abs(x[:, None] - np.asarray(points)[None, :]).min()


def gap_between(y):
    """Distance between two distinct entries of y (a tie is a kink of sort, max, min)."""
    d = np.abs(y[:, None] - y[None, :])
    return d[~np.eye(len(y), dtype=bool)].min()


# The distance from x to the nearest kink (where the case is not differentiable).
KINKS = {
    "floor_ceil_rint_trunc": gap_to(np.concatenate([np.arange(-6, 7) / 3, np.arange(-5, 6) / 2])),
    "maximum_minimum": lambda x: min(
        np.abs(x).min(), np.abs(x - c).min(), np.abs(x - 0.5 * x[::-1]).min()
    ),
    "fmax_fmin": gap_to([-1.0, 0.0, 1.0]),
    "comparisons": gap_to([0.0, 1.0]),
    "isfinite": lambda x: np.inf,
    "clip": lambda x: min(gap_to([-0.5, 0.5, 3.0])(x), np.abs(x - 0.1 * x[::-1]).min()),
    "where_constant": gap_to([0.0]),
    "sort": gap_between,
    "reductions": lambda x: np.std(x),  # std is not differentiable where x is constant
    "extrema": lambda x: min(gap_between(x), gap_between(np.abs(x)), np.abs(x).min()),
}


def far_from_kinks(name, x):
    return name not in KINKS or KINKS[name](x) >= 0.05


def central_difference(g, x, v, h=1e-6):
    return (np.asarray(g(x + h * v), dtype=float) - np.asarray(g(x - h * v), dtype=float)) / (2 * h)


def check(name, x, v):
    g, _ = CASES[name]
    got = hp.hvp(hp.Gradient(g, scheme="dual"), x, v)
    want = central_difference(g, x, v)
    scale = max(1.0, np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("name", list(CASES))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_each_supported_operation_matches_central_differences(name, data):
    lo, hi = CASES[name][1]
    x = data.draw(arrays(np.float64, N, elements=st.floats(lo, hi)))
    v = data.draw(arrays(np.float64, N, elements=st.floats(-1, 1)))
    if far_from_kinks(name, x):
        check(name, x, v)


@pytest.mark.parametrize("name", list(CASES))
def test_each_supported_operation_at_a_fixed_point(name):
    """One example each that always runs (hypothesis may discard draws near kinks)."""
    lo, hi = CASES[name][1]
    rng = np.random.default_rng(3)
    x = next(x for x in (rng.uniform(lo, hi, N) for _ in range(10_000)) if far_from_kinks(name, x))
    v = rng.standard_normal(N)
    check(name, x, v)


def test_eight_lanes_in_one_call_match_eight_single_products():
    g = CASES["in_place"][0]
    x = np.linspace(-1, 1, N)
    V = np.random.default_rng(4).standard_normal((8, N))
    calls = []

    def counted(y):
        calls.append(y.dtype)
        return g(y)

    block = hp.hvp(hp.Gradient(counted, scheme="dual"), x, V)
    assert len(calls) == 1 and str(calls[0]) == "dual8"
    singles = np.stack([hp.hvp(hp.Gradient(g, scheme="dual"), x, v) for v in V])
    np.testing.assert_allclose(block, singles, rtol=1e-15, atol=0)


UNSUPPORTED = {
    "np.einsum": lambda x: np.einsum("i,i->i", x, x),
    "np.linalg.solve": lambda x: np.linalg.solve(A, x),
    "np.sinc": np.sinc,
    "np.fft.fft": lambda x: np.fft.fft(x).real,
    "float()": lambda x: x * float(x[0]),
    "math.sin": lambda x: x * math.sin(x[0]),
    "int()": lambda x: x * int(x[0]),
    "astype(float)": lambda x: x.astype(float),
    "np.asarray(dtype=float)": lambda x: np.asarray(x, dtype=float),
    "np.array(dtype=np.float64)": lambda x: np.array(x, dtype=np.float64),
    "assign into np.zeros(n)": lambda x: _assign(np.zeros(N), x),
    "assign into np.empty(n)": lambda x: _assign(np.empty(N), x),
    "scalar into np.zeros(n)": lambda x: _assign_scalar(np.zeros(N), x),
    "complex()": lambda x: x * complex(x[0]),
    # SciPy's array-API code asks np.isdtype, which knows only NumPy's own dtypes
    "scipy.special.logsumexp": lambda x: scipy.special.logsumexp(x) * x,
}


def _assign(out, x):
    out[:] = x
    return out


def _assign_scalar(out, x):
    out[0] = x[0]
    return out


@pytest.mark.parametrize("name", list(UNSUPPORTED))
def test_unsupported_operations_raise_a_type_error_pointing_to_finite_differences(name):
    with pytest.raises(TypeError) as info:
        hp.hvp(hp.Gradient(UNSUPPORTED[name], scheme="dual"), np.linspace(0.1, 1, N), np.ones(N))
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "scheme='central'" in notes and "dual" in notes


def test_a_dual_used_as_an_index_is_refused():
    with pytest.raises(IndexError):
        hp.hvp(hp.Gradient(lambda x: x[x[0]], scheme="dual"), np.ones(N), np.ones(N))


def test_a_lane_dropping_conversion_says_why():
    with pytest.raises(TypeError, match="drop its tangent lanes"):
        hp.hvp(hp.Gradient(UNSUPPORTED["float()"], scheme="dual"), np.ones(N), np.ones(N))
