"""Issue 7: properties checked by hypothesis over random points, directions and seeds.

The references are independent of the library: scipy's closed-form Rosenbrock Hessian
(``scipy.optimize.rosen_hess``) for the size of |H|, the matrix A of a quadratic, and
Rademacher probes regenerated with ``hessprobe._core.rademacher`` (the generator the
engine uses: probe j depends on (seed, j) only) whose samples are summed here by
``math.fsum`` (exactly rounded) in a shuffled order.

Rounding bounds.  An exact (dual-number) HVP of Rosenbrock adds at most 4 terms per
entry, each a product of a few factors, so its rounding error is below
16 eps (|H| |v|)_i; 64 eps (|H| |v|)_i leaves a 4x margin.  A wrong lane, sign, probe or
a term missed is O(|H| |v|), ~10^13 times larger.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize
from numpy.testing import assert_array_equal
from references import EPS, random_symmetric, rosen_grad_np

import hessprobe as hp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
F = hp.functions.rosenbrock()
TOL = 64 * EPS


def _vectors(n: int, count: int = 1) -> st.SearchStrategy[np.ndarray]:
    shape = (count, n) if count > 1 else (n,)
    return hnp.arrays(np.float64, shape, elements=st.floats(-2.0, 2.0, width=64))


@st.composite
def point_and_directions(draw: st.DrawFn, count: int = 2) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 40))
    return draw(_vectors(n)), draw(_vectors(n, count))


def _abs_h(x: np.ndarray) -> np.ndarray:
    return np.abs(scipy.optimize.rosen_hess(x))


@SETTINGS
@given(point_and_directions(), st.floats(-3.0, 3.0), st.floats(-3.0, 3.0))
def test_hvp_is_linear_in_v(data: tuple[np.ndarray, np.ndarray], a: float, b: float) -> None:
    x, (u, w) = data
    lhs = hp.hvp(F, x, a * u + b * w)
    rhs = a * hp.hvp(F, x, u) + b * hp.hvp(F, x, w)
    absH = _abs_h(x)
    # each side: rounding of H(a u + b w) and of the combination (a few eps more)
    bound = 2 * TOL * (absH @ (abs(a) * np.abs(u) + abs(b) * np.abs(w)))
    assert np.all(np.abs(lhs - rhs) <= bound + 1e-300)
    # a block of directions gives the same rows as single calls
    block = hp.hvp(F, x, np.array([u, w]))
    assert_array_equal(block[0], hp.hvp(F, x, u))
    assert_array_equal(block[1], hp.hvp(F, x, w))


@SETTINGS
@given(point_and_directions())
def test_hvp_is_symmetric_bilinear(data: tuple[np.ndarray, np.ndarray]) -> None:
    # u'(H v) = v'(H u), for the exact products and for central differences of g
    x, (u, v) = data
    absH = _abs_h(x)
    scale = float(np.abs(u) @ absH @ np.abs(v))
    lhs, rhs = u @ hp.hvp(F, x, v), v @ hp.hvp(F, x, u)
    assert abs(lhs - rhs) <= 2 * TOL * scale + 1e-300
    # central differences: error ~1e-10 of S = |g| + |H||v| per entry (tests/test_hutchinson
    # measures < 4e-11 at the default step); 1e-7 of the scale sum is a wide margin
    if np.any(u) and np.any(v):
        fu, fv = hp.hvp(rosen_grad_np, x, u), hp.hvp(rosen_grad_np, x, v)
        g = np.max(np.abs(rosen_grad_np(x)))
        fd_scale = scale + g * (np.abs(u).sum() + np.abs(v).sum())
        assert abs(u @ fv - v @ fu) <= 1e-7 * fd_scale


@SETTINGS
@given(st.integers(2, 30), st.integers(0, 2**32), st.sampled_from([1, 3, 7, 64]))
def test_hessian_is_symmetric_and_block_invariant(n: int, seed: int, block: int) -> None:
    x = np.random.default_rng(seed).uniform(-2.0, 2.0, n)
    H = hp.hessian(F, x)  # exact columns, not symmetrised: symmetric to rounding
    absH = _abs_h(x)
    assert np.all(np.abs(H - H.T) <= 2 * TOL * absH + 1e-300)
    # finite differences: symmetrised, so exactly symmetric; columns are independent
    # products, so the number of columns per engine call does not change a bit
    Hfd = hp.hessian(rosen_grad_np, x, block=block)
    assert_array_equal(Hfd, Hfd.T)
    assert_array_equal(Hfd, hp.hessian(rosen_grad_np, x, block=n))
    # a quadratic's Hessian is its A, to rounding of the columns
    A = random_symmetric(n, np.random.default_rng(seed + 1))
    Hq = hp.hessian(hp.functions.quadratic(A), x)
    assert np.all(np.abs(Hq - A) <= TOL * np.abs(A).sum(axis=1)[:, None])


@SETTINGS
@given(
    st.integers(2, 60),
    st.integers(1, 40),
    st.integers(0, 2**64 - 1),
    st.sampled_from(["builtin", "callable", "vectorized"]),
)
def test_estimates_do_not_depend_on_threads(n: int, probes: int, seed: int, kind: str) -> None:
    x = np.random.default_rng(n).uniform(-2.0, 2.0, n)
    src = {
        "builtin": F,
        "callable": rosen_grad_np,
        "vectorized": hp.Gradient(lambda P: np.array([rosen_grad_np(p) for p in P]), True),
    }[kind]
    runs = [
        hp.hutchinson_diag(src, x, hvps=probes, seed=seed, threads=t, structure="none")
        for t in (1, 2, 3)
    ]
    for r in runs[1:]:
        assert_array_equal(r.value, runs[0].value)
        assert_array_equal(r.stderr, runs[0].stderr)
    traces = [
        hp.hutchinson_trace(src, x, hvps=probes, seed=seed, threads=t, structure="none")
        for t in (1, 2)
    ]
    assert_array_equal(traces[0].value, traces[1].value)
    assert_array_equal(traces[0].stderr, traces[1].stderr)  # NaN for one probe


@SETTINGS
@given(st.integers(2, 50), st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**64 - 1))
def test_estimates_are_sums_of_per_probe_samples_in_any_order(
    n: int, p1: int, p2: int, seed: int
) -> None:
    # Probe j is a pure function of (seed, j).  So the estimate with p = p1 + p2 probes
    # is the mean of p per-probe samples v_j * (H v_j), however they are grouped into
    # blocks of lanes and whichever block finishes first: computed here from
    # regenerated probes, summed exactly (fsum) in a shuffled order, and in two parts
    # (the first p1 probes -- the estimate with hvps=p1 -- and the rest).
    x = np.random.default_rng(seed % 1000).uniform(-2.0, 2.0, n)
    p = p1 + p2
    probes = hp._core.rademacher(seed, 0, p, n)
    assert set(np.unique(probes)) <= {-1.0, 1.0}
    samples = probes * hp.hvp(F, x, probes)  # (p, n): v_j * (H v_j)
    order = np.random.default_rng(seed % 7919).permutation(p)
    ref = np.array([math.fsum(samples[order, i]) for i in range(n)]) / p
    est = hp.hutchinson_diag(F, x, hvps=p, seed=seed, threads=2, structure="none")
    absH1 = _abs_h(x).sum(axis=1)  # |v_j|'s entries are 1: |(H v_j)_i| <= (|H| 1)_i
    assert np.all(np.abs(est.value - ref) <= 2 * TOL * absH1)
    if p > 1:
        sd = np.array([np.std(samples[:, i], ddof=1) for i in range(n)]) / math.sqrt(p)
        # stderr: the sample standard deviation of the same samples (its rounding is
        # relative to the samples' size, |H| 1, not to their spread)
        assert np.all(np.abs(est.stderr - sd) <= 1e-9 * absH1)
    first = hp.hutchinson_diag(F, x, hvps=p1, seed=seed, structure="none")
    rest = np.array([math.fsum(samples[p1:, i]) for i in range(n)])
    assert np.all(np.abs((p1 * first.value + rest) / p - est.value) <= 4 * TOL * absH1)
    trace = hp.hutchinson_trace(F, x, hvps=p, seed=seed, structure="none")
    tref = math.fsum(samples[order].ravel()) / p
    assert abs(trace.value - tref) <= 2 * TOL * absH1.sum()
