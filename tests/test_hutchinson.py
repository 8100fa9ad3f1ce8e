"""Issue 3: Hutchinson diagonal and trace estimates, and the gradient sources.

The statistical checks compare against exact Hessians (the NumPy references in
``references``) with bounds derived from the exact sampling distribution of the Rademacher
estimator (see ``references.zscore_spread`` / ``mean_square_error_rel_sd``).  Each bound is set
so that at the fixed seeds it fails by chance with probability ~1e-5..1e-4.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import pytest
import references
import scipy
import scipy.optimize
from numpy.testing import assert_array_equal
from references import EPS, assert_within, make_case, rosen_grad_np, rosen_grad_rows

LLC_SIGNATURE = "int (npy_intp, double *, double *, void *)"
THREADS = [1, 2, 4]
ESTIMATORS = ["hutchinson_diag", "hutchinson_trace"]
ENTRIES = ["hvp", "hutchinson_diag"]

# Central differences at the library's default step: error h^2/6 |d^3 g| + ~eps |g| / h
# with h ~ cbrt(eps) (1 + rms x) / rms v, i.e. ~eps^(2/3) ~ 4e-11 of the size of g and of
# its derivatives; for Rosenbrock at |x| <= 2 that is measured at <4e-11 of
# S = |g|_inf + max(|H| |v|).  1e-8 * S keeps a >100x margin; a wrong probe, row or scale
# is O(1) of S.
CENTRAL_RTOL = 1e-8


def _rosen_point(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2.0, 2.0, n)


def _fd_scale(x: np.ndarray, V: np.ndarray) -> float:
    """S = |g|_inf + max_i (|H| |v|)_i for Rosenbrock (v = rows of V, or +-1 probes)."""
    V = np.atleast_2d(V)
    return float(np.max(np.abs(scipy.optimize.rosen_der(x)))) + max(
        references.rosen_abs_matvec_scale(x, v) for v in V
    )


# ======================================================================================
# Separable functions: the Rademacher diagonal is exact
# ======================================================================================

PROBES_EXACT = [2, 7, 100]


@pytest.mark.parametrize("probes", PROBES_EXACT, ids=[f"probes={p}" for p in PROBES_EXACT])
def test_diag_exact_for_separable(hp, separable_case, probes):
    n = 50
    f, x, ref = separable_case.make(n, np.random.default_rng(probes))
    exact = f.hessian_diag(x)
    est = hp.hutchinson_diag(f, x, hvps=probes, seed=7, structure="none")
    assert isinstance(est, hp.Estimate)
    assert est.probes == probes
    assert est.value.shape == (n,) and est.stderr.shape == (n,)
    # H diagonal: each probe gives v_i (H v)_i = v_i^2 H_ii = H_ii (v_i = +-1, and rounding
    # is sign-symmetric), the same number every time.  The only error left is averaging
    # `probes` equal numbers: at most (probes - 1) ulps for a running sum; the sample
    # standard deviation of equal numbers is 0 up to that same rounding.
    tol = max(probes, 2) * EPS * np.abs(exact)
    assert_within(est.value, exact, tol, "value")
    assert_within(est.stderr, np.zeros(n), tol, "stderr")
    Hd = np.diag(ref.hessian(x))  # and the textbook diagonal
    assert_within(est.value, Hd, 1e-12 * np.max(np.abs(Hd)), "value vs reference")


@pytest.mark.parametrize("probes", PROBES_EXACT, ids=[f"probes={p}" for p in PROBES_EXACT])
def test_trace_exact_for_separable(hp, separable_case, probes):
    n = 50
    f, x, _ = separable_case.make(n, np.random.default_rng(100 + probes))
    d = f.hessian_diag(x)
    est = hp.hutchinson_trace(f, x, hvps=probes, seed=3, structure="none")
    assert isinstance(est.value, float) and est.probes == probes
    # each probe gives sum_i H_ii (equal numbers): rounding of an n-term sum in another
    # order than np.sum plus averaging `probes` equal numbers
    tol = (n + probes) * EPS * float(np.abs(d).sum())
    assert abs(est.value - float(d.sum())) <= tol, (est.value, d.sum(), tol)
    assert 0.0 <= est.stderr <= tol, est.stderr


# ======================================================================================
# Unbiasedness: z-scores over coordinates look standard normal
# ======================================================================================

UNBIASED = [
    ("rosenbrock", 2000),
    ("ackley", 2000),
    ("logistic_regression", 2000),
    ("quadratic", 1000),
]
Z_PROBES = 400


@pytest.mark.parametrize("name,n", UNBIASED, ids=[f"{a}-n={b}" for a, b in UNBIASED])
def test_diag_unbiased(hp, name, n):
    f, x, ref = make_case(name, n, np.random.default_rng(31))
    H = ref.hessian(x)
    p = Z_PROBES
    est = hp.hutchinson_diag(f, x, hvps=p, seed=2024, structure="none")
    assert est.probes == p
    var = references.offdiag_variance(H)
    mask = (est.stderr > 0) & (var > 0)
    assert mask.sum() >= 0.99 * n  # every coordinate has off-diagonal curvature here
    z = (est.value - np.diag(H))[mask] / est.stderr[mask]
    sd_mean, sd_std = references.zscore_spread(H, mask)
    # mean(z): E = 0 exactly (flipping v_i flips the sign of the error), sd from the exact
    # correlations (~sqrt(1/N)..sqrt(3/N)), inflated by sqrt(1 + 6/p) for the estimated
    # stderr (t-like z).  |N(0,1)| > 4.2 has probability 2.7e-5.
    bound_mean = 4.2 * sd_mean * math.sqrt(1.0 + 6.0 / p)
    assert abs(z.mean()) <= bound_mean, (z.mean(), bound_mean)
    # std(z): 1 up to a bias of O(1/p) from the estimated stderr (t_{p-1} has
    # E z^2 = 1 + 2/p; simulations of these four functions: |E std(z) - 1| < 0.008 = 3/p),
    # allowed 6/p, plus 4.2 sd of its sampling spread.
    bound_std = 4.2 * sd_std + 6.0 / p
    assert abs(z.std() - 1.0) <= bound_std, (z.std(), bound_std)


def test_quadratic_stderr_matches_exact_variance(hp):
    n, p = 1000, Z_PROBES
    rng = np.random.default_rng(8)
    A = references.random_symmetric(n, rng)
    x = rng.standard_normal(n)
    est = hp.hutchinson_diag(hp.functions.quadratic(A), x, hvps=p, seed=99, structure="none")
    var = references.offdiag_variance(A)  # sum_{j != i} A_ij^2, the exact per-probe variance
    ratio = est.stderr**2 * p / var
    # ratio_i = s_i^2 / sigma_i^2 is a sample variance over p probes: mean 1 (ddof=1; 1 - 1/p
    # with ddof=0), relative sd sqrt((kappa - 1) / p) <= sqrt(2/400) = 0.071 (kappa <= 3 for
    # a Rademacher linear form), median ~1 - 2/(3p).  The median over 1000 nearly
    # independent coordinates has sd 1.25 * 0.071 / sqrt(1000) = 0.0028 (simulated: 0.0029),
    # so |median - 1| <= 0.0025 + 0.0017 + 4.5 * 0.0028 < 0.02.
    assert abs(np.median(ratio) - 1.0) <= 0.02, np.median(ratio)
    # every coordinate: [0.5, 1.6] is beyond 7 sd of a chi-square_399 / 399 on both sides
    # (Wilson-Hilferty), probability < 1e-9 per coordinate
    assert ratio.min() >= 0.5 and ratio.max() <= 1.6, (ratio.min(), ratio.max())


RMS_CASES = ["rosenbrock", "ackley"]


@pytest.mark.parametrize("name", RMS_CASES, ids=RMS_CASES)
def test_error_shrinks_like_inverse_sqrt_probes(hp, name):
    n = 1000
    f, x, ref = make_case(name, n, np.random.default_rng(41))
    H = ref.hessian(x)
    exact = np.diag(H)
    rms = {}
    for p, seed in ((100, 1), (10_000, 2)):  # different seeds: independent estimates
        est = hp.hutchinson_diag(f, x, hvps=p, seed=seed, structure="none")
        rms[p] = math.sqrt(float(np.mean((est.value - exact) ** 2)))
    ratio = rms[100] / rms[10_000]
    # E[MSE_p] = mean_i var_i / p, so the ratio is sqrt(100) = 10 up to the sampling spread
    # of the two MSEs: sd(log ratio) = sqrt(rel_100^2 + rel_10000^2) / 2 with the exact
    # relative sds from the Hessian (Rosenbrock ~0.05 each -> band ~[8.5, 11.8]; Ackley's
    # rank-2 off-diagonal makes MSE_100 ~ chi^2_100-like, rel 0.14 -> ~[7.3, 13.7]).
    sd_log = 0.5 * math.hypot(
        references.mean_square_error_rel_sd(H, 100), references.mean_square_error_rel_sd(H, 10_000)
    )
    lo, hi = 10.0 * math.exp(-4.5 * sd_log), 10.0 * math.exp(4.5 * sd_log)
    assert lo <= ratio <= hi, (ratio, lo, hi)


# ======================================================================================
# Trace
# ======================================================================================

TRACE_CASES = ["rosenbrock", "ackley", "logistic_regression", "quadratic"]


@pytest.mark.parametrize("name", TRACE_CASES, ids=TRACE_CASES)
def test_trace_unbiased(hp, name):
    f, x, ref = make_case(name, 500, np.random.default_rng(51))
    exact = float(np.trace(ref.hessian(x)))
    est = hp.hutchinson_trace(f, x, hvps=Z_PROBES, seed=5, structure="none")
    assert isinstance(est.value, float) and isinstance(est.stderr, float)
    assert est.stderr > 0
    # (est - tr) / stderr ~ t_399 ~ N(0, 1): beyond 4.5 with probability ~1e-5
    assert abs(est.value - exact) <= 4.5 * est.stderr, (est.value, exact, est.stderr)


def test_trace_quadratic_stderr_matches_exact_variance(hp):
    n, p = 200, 10_000
    rng = np.random.default_rng(61)
    A = references.random_symmetric(n, rng)
    x = rng.standard_normal(n)
    est = hp.hutchinson_trace(hp.functions.quadratic(A), x, hvps=p, seed=6, structure="none")
    B = A - np.diag(np.diag(A))
    var = 2.0 * float((B * B).sum())  # Var(v'Av) = 2 sum_{i != j} A_ij^2 for Rademacher v
    assert abs(est.value - np.trace(A)) <= 4.5 * est.stderr
    ratio = est.stderr**2 * p / var
    # sample variance over p probes: relative sd sqrt((kappa - 1) / p).  The kurtosis of
    # the Rademacher chaos v'Bv is at most the Gaussian one, 3 + 12 tr(B^4) / tr(B^2)^2
    # (~3.12 here; simulated Rademacher 3.02), so 4.5 sd + 1/p (ddof) bounds the ratio.
    B2 = B @ B
    kappa = 3.0 + 12.0 * float(np.trace(B2 @ B2)) / float(np.trace(B2)) ** 2
    band = 4.5 * math.sqrt((kappa - 1.0) / p) + 1.0 / p
    assert abs(ratio - 1.0) <= band, (ratio, band)


def test_trace_equals_sum_of_diag_same_probes(hp):
    n, p = 300, 64
    x = _rosen_point(n, 71)
    f = hp.functions.rosenbrock()
    d = hp.hutchinson_diag(f, x, hvps=p, seed=12, structure="none")
    t = hp.hutchinson_trace(f, x, hvps=p, seed=12, structure="none")
    # same seed -> same probes, and mean_p sum_i = sum_i mean_p: equal up to the rounding
    # of the two summation orders, each at most (n + p) ulps of the sum of |v_i (Hv)_i|
    # <= sum_i (|H| 1)_i.  Different probes would differ by ~stderr (~1e3 here).
    H = scipy.optimize.rosen_hess(x)
    tol = 2 * (n + p) * EPS * float(np.abs(H).sum())
    assert abs(t.value - float(d.value.sum())) <= tol, (t.value, d.value.sum(), tol)
    assert tol < 1e-3 * t.stderr


# ======================================================================================
# The probes are Rademacher, probe j depends only on (seed, j)
# ======================================================================================


def test_probes_are_rademacher_and_prefix_stable(hp):
    # For Rosenbrock (tridiagonal H) a single probe's sample is
    #   Y_i - H_ii = H_{i,i-1} v_{i-1} v_i + H_{i,i+1} v_i v_{i+1},
    # so with t_i = v_i v_{i+1} = +-1 we can solve for t_0, t_1, ... in turn.  Because
    # probe j depends only on (seed, j), the estimates with p and p - 1 probes share their
    # first p - 1 probes and  Y(probe p-1) = p est_p - (p - 1) est_{p-1}.  Recovering a
    # consistent +-1 chain for each of the first 20 probes checks the probes, the lane
    # blocks and their remainders (lanes of 4 or 8: probes 4, 8, 16 start new blocks).
    n, P = 40, 20
    x = references.away_from_zero(n, np.random.default_rng(81), 0.3, 2.0)
    f = hp.functions.rosenbrock()
    H = scipy.optimize.rosen_hess(x)
    hd = np.diag(H)
    b = np.diag(H, 1)  # H_{i,i+1} = -400 x_i, |b| >= 120
    means = [
        hp.hutchinson_diag(f, x, hvps=p, seed=4, structure="none").value for p in range(1, P + 1)
    ]
    chains = []
    for p in range(1, P + 1):
        Y = means[0] if p == 1 else p * means[p - 1] - (p - 1) * means[p - 2]
        r = Y - hd
        # rounding of the reconstruction: ~2 p^2 ulps of |Y| <~ 1e-9 of |b|
        t = np.empty(n - 1)
        for i in range(n - 1):
            ti = (r[i] - (b[i - 1] * t[i - 1] if i else 0.0)) / b[i]
            assert abs(abs(ti) - 1.0) <= 1e-6, f"probe {p - 1}, i={i}: v_i v_(i+1) = {ti}"
            t[i] = np.sign(ti)  # snap, so that rounding does not accumulate
        assert abs(r[-1] - b[-1] * t[-1]) <= 1e-6 * abs(b[-1]), f"probe {p - 1}: last row"
        chains.append(t)
    chains = np.array(chains)
    # distinct probes (a repeat has probability 2^-39 per pair)
    assert len({c.tobytes() for c in chains}) == P
    # t_i are iid +-1 for independent Rademacher v: fraction of +1 among 780 is
    # 0.5 +- 4.5 * sqrt(0.25 / 780) = 0.5 +- 0.08
    assert abs(np.mean(chains > 0) - 0.5) <= 0.08


def test_single_probe(hp):
    n = 30
    x = _rosen_point(n, 91)
    f = hp.functions.rosenbrock()
    est = hp.hutchinson_diag(f, x, hvps=1, seed=0, structure="none")
    assert est.probes == 1
    assert np.all(np.isnan(est.stderr))
    assert np.all(np.isfinite(est.value))
    H = scipy.optimize.rosen_hess(x)
    # one probe: |Y_i - H_ii| <= sum_{j != i} |H_ij| (and > 0 would be a coincidence)
    bound = np.abs(H).sum(axis=1) - np.abs(np.diag(H))
    assert np.all(np.abs(est.value - np.diag(H)) <= bound * (1 + 1e-12))
    t = hp.hutchinson_trace(f, x, hvps=1, seed=0, structure="none")
    assert t.probes == 1 and math.isnan(t.stderr) and math.isfinite(t.value)


def test_single_probe_separable_is_exact(hp):
    f, x, _ = make_case("rastrigin", 17, np.random.default_rng(92))
    est = hp.hutchinson_diag(f, x, hvps=1, seed=123, structure="none")
    assert_array_equal(est.value, f.hessian_diag(x))
    assert np.all(np.isnan(est.stderr))


# ======================================================================================
# Reproducibility
# ======================================================================================


def _source(kind: str, request):
    if kind == "builtin":
        return lambda hp: hp.functions.rosenbrock()
    if kind == "callable":
        return lambda hp: rosen_grad_np
    if kind == "vectorized":
        return lambda hp: hp.Gradient(rosen_grad_rows, vectorized=True)
    if kind == "native":
        native = request.getfixturevalue("native")
        return lambda hp: native.callable()
    if kind == "cython":
        mod = request.getfixturevalue("cython_rosen")
        return lambda hp: scipy.LowLevelCallable.from_cython(
            mod, "rosen_grad", signature=LLC_SIGNATURE
        )
    raise KeyError(kind)


SOURCES = ["builtin", "callable", "vectorized", "native", "cython"]


@pytest.mark.parametrize("kind", SOURCES, ids=SOURCES)
def test_bitwise_equal_across_threads(hp, kind, request):
    source = _source(kind, request)(hp)
    n, p = (1000, 1001) if kind in ("builtin", "native", "cython") else (100, 37)
    x = _rosen_point(n, 101)
    diag = [
        hp.hutchinson_diag(source, x, hvps=p, seed=77, threads=t, structure="none") for t in THREADS
    ]
    trace = [
        hp.hutchinson_trace(source, x, hvps=p, seed=77, threads=t, structure="none")
        for t in THREADS
    ]
    for t, d, tr in zip(THREADS[1:], diag[1:], trace[1:]):
        assert_array_equal(d.value, diag[0].value, err_msg=f"diag value, threads={t}")
        assert_array_equal(d.stderr, diag[0].stderr, err_msg=f"diag stderr, threads={t}")
        assert tr.value == trace[0].value, (t, tr.value, trace[0].value)
        assert tr.stderr == trace[0].stderr, (t, tr.stderr, trace[0].stderr)
    # threads=None (all cores) is the same computation
    d = hp.hutchinson_diag(source, x, hvps=p, seed=77, structure="none")
    assert_array_equal(d.value, diag[0].value)


def test_seeds(hp):
    n, p = 500, 50
    x = _rosen_point(n, 111)
    f = hp.functions.rosenbrock()
    a = hp.hutchinson_diag(f, x, hvps=p, seed=1, structure="none")
    a2 = hp.hutchinson_diag(f, x, hvps=p, seed=1, structure="none")
    b = hp.hutchinson_diag(f, x, hvps=p, seed=2, structure="none")
    assert_array_equal(a.value, a2.value)
    assert_array_equal(a.stderr, a2.stderr)
    # different probes: every coordinate's estimate has a continuous-ish spread of sd
    # ~stderr, so (almost) all coordinates differ
    assert np.mean(a.value != b.value) > 0.9
    assert (
        hp.hutchinson_trace(f, x, hvps=p, seed=1, structure="none").value
        != hp.hutchinson_trace(f, x, hvps=p, seed=2, structure="none").value
    )
    # default seed is 0
    assert_array_equal(
        hp.hutchinson_diag(f, x, hvps=p, structure="none").value,
        hp.hutchinson_diag(f, x, hvps=p, seed=0, structure="none").value,
    )


def test_concurrent_python_threads_give_serial_results(hp):
    n, p = 20_000, 64
    x = _rosen_point(n, 121)
    f = hp.functions.rosenbrock()
    serial = [
        hp.hutchinson_diag(f, x, hvps=p, seed=s, threads=1, structure="none").value
        for s in range(4)
    ]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(s: int) -> None:
        try:
            results[s] = hp.hutchinson_diag(f, x, hvps=p, seed=s, threads=1, structure="none").value
        except BaseException as e:
            errors.append(e)

    ts = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    for s in range(4):
        assert_array_equal(results[s], serial[s])


# ======================================================================================
# Argument checking
# ======================================================================================


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=ESTIMATORS)
@pytest.mark.parametrize("bad", [0, -3], ids=["0", "-3"])
def test_bad_hvps_and_threads(hp, estimator, bad):
    f = hp.functions.rosenbrock()
    x = _rosen_point(10, 1)
    fn = getattr(hp, estimator)
    with pytest.raises(ValueError, match=r"\bhvps\b"):
        fn(f, x, hvps=bad)
    with pytest.raises(ValueError, match=r"\bthreads\b"):
        fn(f, x, hvps=10, threads=bad)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=ESTIMATORS)
def test_estimators_check_x(hp, estimator):
    fn = getattr(hp, estimator)
    f = hp.functions.rosenbrock()
    for x in (np.ones((3, 3)), np.array([1.0, np.nan, 2.0])):
        with pytest.raises((ValueError, TypeError), match=r"\bx\b"):
            fn(f, x, hvps=4)
    with pytest.raises(ValueError, match=r"\bx\b|\bn\b"):
        fn(f, np.ones(1), hvps=4)  # below rosenbrock's minimum size
    with pytest.raises((ValueError, TypeError), match=r"\bx\b"):
        fn(rosen_grad_np, np.array([1.0, np.inf, 2.0]), hvps=4)


def test_estimators_accept_int_and_strided_x(hp):
    f = hp.functions.rosenbrock()
    xi = np.arange(-5, 6)
    xs = np.repeat(np.linspace(-1.5, 1.5, 11), 2)[::2]
    for xo in (xi, xs):
        xc = np.ascontiguousarray(xo, dtype=np.float64)
        a, b = (
            hp.hutchinson_diag(f, xo, hvps=9, structure="none"),
            hp.hutchinson_diag(f, xc, hvps=9, structure="none"),
        )
        assert_array_equal(a.value, b.value)
        assert_array_equal(a.stderr, b.stderr)
        ta, tb = (
            hp.hutchinson_trace(f, xo, hvps=9, structure="none"),
            hp.hutchinson_trace(f, xc, hvps=9, structure="none"),
        )
        assert ta.value == tb.value


# ======================================================================================
# Sources: Python callable, vectorized callable, schemes
# ======================================================================================


def test_callable_sees_the_same_probes_as_builtin(hp):
    n, p = 200, 64
    x = _rosen_point(n, 131)
    builtin = hp.hutchinson_diag(hp.functions.rosenbrock(), x, hvps=p, seed=5, structure="none")
    fd = hp.hutchinson_diag(scipy.optimize.rosen_der, x, hvps=p, seed=5, structure="none")
    # Same probes, so the difference is only the central-difference error of each probe's
    # H v (see CENTRAL_RTOL), averaged: not the sampling error (stderr is ~1e5x larger,
    # asserted so that this test could not pass with different probes).
    tol = CENTRAL_RTOL * _fd_scale(x, np.ones(n))
    assert tol < 1e-3 * builtin.stderr.min()
    assert_within(fd.value, builtin.value, tol, "callable vs builtin (diag)")
    # stderr: same samples up to FD error too
    assert_within(fd.stderr, builtin.stderr, tol, "stderr")
    tb = hp.hutchinson_trace(hp.functions.rosenbrock(), x, hvps=p, seed=5, structure="none")
    tf = hp.hutchinson_trace(scipy.optimize.rosen_der, x, hvps=p, seed=5, structure="none")
    assert abs(tf.value - tb.value) <= n * tol
    assert n * tol < 1e-3 * tb.stderr


def test_vectorized_gradient_equals_plain_callable(hp):
    n, p = 150, 64
    x = _rosen_point(n, 141)
    shapes: list[tuple[int, ...]] = []

    def vec(P):
        shapes.append(np.shape(P))
        return rosen_grad_rows(P)

    g = hp.Gradient(vec, vectorized=True)
    plain = hp.hutchinson_diag(rosen_grad_np, x, hvps=p, seed=9, structure="none")
    est = hp.hutchinson_diag(g, x, hvps=p, seed=9, structure="none")
    # rosen_grad_rows does rosen_grad_np's arithmetic row by row (elementwise NumPy ops
    # are correctly rounded, independent of the batch), and both paths use the same FD
    # formula and step: equal up to how the shifted points are formed (an ulp of x + h v
    # moves g by ~eps |x| |H|, amplified by 1/h ~ 1e5: 1e-9 of S is ample).
    tol = 1e-9 * _fd_scale(x, np.ones(n))
    assert_within(est.value, plain.value, tol, "vectorized vs plain (diag)")
    # it really was called with blocks: (k, n) arrays, far fewer calls than probes
    assert shapes and all(len(s) == 2 and s[1] == n for s in shapes), shapes[:5]
    assert max(s[0] for s in shapes) > 1
    assert len(shapes) <= p // 2, len(shapes)
    # hvp with a block of directions
    V = np.random.default_rng(142).standard_normal((5, n))
    assert_within(hp.hvp(g, x, V), hp.hvp(rosen_grad_np, x, V), 1e-9 * _fd_scale(x, V), "hvp")


SCHEMES = {
    # scheme: (relative tolerance w.r.t. S = |g|_inf + max(|H||v|), why)
    # central: O(h^2) + O(eps/h) at h ~ eps^(1/3): ~eps^(2/3) = 4e-11 (measured <4e-11)
    "central": CENTRAL_RTOL,
    # forward: O(h) + O(eps/h) at h ~ eps^(1/2): ~1.5e-8 (measured up to 2e-8): 1e-6
    "forward": 1e-6,
    # complex step: Im g(x + i h v) / h has no subtraction; with h = 1e-20 scale the O(h^2)
    # truncation vanishes and only a few ulps of rounding of the terms remain: 1e-13
    "complex": 1e-13,
}


@pytest.mark.parametrize("scheme", list(SCHEMES), ids=list(SCHEMES))
@pytest.mark.parametrize("n", [3, 100, 10_000], ids=["n=3", "n=100", "n=10000"])
def test_hvp_schemes_against_exact(hp, scheme, n):
    rng = np.random.default_rng(151 + n)
    x = rng.uniform(-2.0, 2.0, n)
    v = rng.standard_normal(n)
    V = rng.standard_normal((3, n))
    exact = scipy.optimize.rosen_hess_prod(x, v)
    got = hp.hvp(rosen_grad_np, x, v, scheme=scheme)
    assert got.shape == (n,)
    assert_within(got, exact, SCHEMES[scheme] * _fd_scale(x, v), f"{scheme} hvp")
    got_block = hp.hvp(rosen_grad_np, x, V, scheme=scheme)
    assert got_block.shape == (3, n)
    for i in range(3):
        ex = scipy.optimize.rosen_hess_prod(x, V[i])
        assert_within(got_block[i], ex, SCHEMES[scheme] * _fd_scale(x, V[i]), f"{scheme} row {i}")
    # the same through hp.Gradient(fn, scheme=...)
    got_g = hp.hvp(hp.Gradient(rosen_grad_np, scheme=scheme), x, v)
    assert_within(got_g, exact, SCHEMES[scheme] * _fd_scale(x, v), f"Gradient({scheme})")


def test_default_scheme_is_central_and_bare_callable_is_gradient(hp):
    rng = np.random.default_rng(165)
    x = rng.uniform(-2.0, 2.0, 30)
    V = rng.standard_normal((4, 30))
    ref = hp.hvp(rosen_grad_np, x, V, scheme="central")
    # the same computation, so bitwise equal
    assert_array_equal(hp.hvp(rosen_grad_np, x, V), ref)
    assert_array_equal(hp.hvp(hp.Gradient(rosen_grad_np), x, V), ref)
    d1 = hp.hutchinson_diag(rosen_grad_np, x, hvps=12, seed=2, structure="none")
    d2 = hp.hutchinson_diag(
        hp.Gradient(rosen_grad_np, scheme="central"), x, hvps=12, seed=2, structure="none"
    )
    assert_array_equal(d1.value, d2.value)


def test_complex_scheme_is_better_than_central(hp):
    # not a tautology of the tolerances above: complex step must be ~exact
    rng = np.random.default_rng(161)
    x = rng.uniform(-2.0, 2.0, 50)
    v = rng.standard_normal(50)
    exact = scipy.optimize.rosen_hess_prod(x, v)
    err_c = np.max(np.abs(hp.hvp(rosen_grad_np, x, v, scheme="complex") - exact))
    err_f = np.max(np.abs(hp.hvp(rosen_grad_np, x, v, scheme="forward") - exact))
    assert err_c < 1e-3 * err_f


STEP_CASES = {
    # scheme: (step, NumPy formula for the same step)
    "central": (1e-2, lambda g, x, v, h: (g(x + h * v) - g(x - h * v)) / (2 * h)),
    "forward": (1e-3, lambda g, x, v, h: (g(x + h * v) - g(x)) / h),
    "complex": (0.05, lambda g, x, v, h: g(x + 1j * h * v).imag / h),
}


@pytest.mark.parametrize("scheme", list(STEP_CASES), ids=list(STEP_CASES))
def test_step_override(hp, scheme):
    # step=h is the h of the scheme's formula (x + h v); with a large h the truncation
    # error is big and the library must reproduce the formula at that h, not its default.
    rng = np.random.default_rng(171)
    n = 40
    x = rng.uniform(-2.0, 2.0, n)
    v = rng.standard_normal(n)
    h, formula = STEP_CASES[scheme]
    expected = formula(rosen_grad_np, x, v, h)
    got = hp.hvp(rosen_grad_np, x, v, scheme=scheme, step=h)
    S = _fd_scale(x, v)
    # same formula: differences only from rounding (e.g. (a - b) * (0.5 / h) vs
    # (a - b) / (2 h)): a few ulps of |g| / h <= 1e-12 * S for h >= 1e-3
    assert_within(got, expected, 1e-10 * S, f"{scheme} step={h}")
    exact = scipy.optimize.rosen_hess_prod(x, v)
    # hp.Gradient(fn, scheme=..., step=...) is the same thing
    got_g = hp.hvp(hp.Gradient(rosen_grad_np, scheme=scheme, step=h), x, v)
    assert_array_equal(got_g, got)
    # the step was really used: far outside the default step's error bound
    assert np.max(np.abs(got - exact)) > 100 * SCHEMES[scheme] * S


# ======================================================================================
# Native gradients: scipy.LowLevelCallable (ctypes, Cython)
# ======================================================================================


def _native_tol(x, V) -> float:
    # The C / Cython gradients are bitwise equal to rosen_grad_np (same operation order,
    # no FMA), so the same FD formula gives the same numbers; 1e-12 of S allows for a
    # platform where the compiler reorders anyway.
    return 1e-12 * _fd_scale(x, V)


@pytest.mark.parametrize(
    "signature", [LLC_SIGNATURE, "int (long, double *, double *, void *)"], ids=["npy_intp", "long"]
)
def test_native_hvp_equals_python_path(hp, native, signature):
    import ctypes

    if "long" in signature and ctypes.sizeof(ctypes.c_long) != 8:
        pytest.skip("the 'long' spelling is accepted only where long is 64-bit")
    rng = np.random.default_rng(181)
    n = 500
    x = rng.uniform(-2.0, 2.0, n)
    v = rng.standard_normal(n)
    V = rng.standard_normal((9, n))
    llc = native.callable(signature=signature)
    assert_within(hp.hvp(llc, x, v), hp.hvp(rosen_grad_np, x, v), _native_tol(x, v), "hvp")
    assert_within(hp.hvp(llc, x, V), hp.hvp(rosen_grad_np, x, V), _native_tol(x, V), "hvp block")
    assert_within(
        hp.hvp(llc, x, v),
        scipy.optimize.rosen_hess_prod(x, v),
        CENTRAL_RTOL * _fd_scale(x, v),
        "vs exact",
    )


def test_native_hutchinson_equals_python_path(hp, native):
    n, p = 300, 40
    x = _rosen_point(n, 191)
    llc = native.callable()
    a = hp.hutchinson_diag(llc, x, hvps=p, seed=3, threads=2, structure="none")
    b = hp.hutchinson_diag(rosen_grad_np, x, hvps=p, seed=3, threads=2, structure="none")
    tol = _native_tol(x, np.ones(n))
    assert_within(a.value, b.value, tol, "diag value")
    assert_within(a.stderr, b.stderr, tol, "diag stderr")
    ta = hp.hutchinson_trace(llc, x, hvps=p, seed=3, structure="none")
    tb = hp.hutchinson_trace(rosen_grad_np, x, hvps=p, seed=3, structure="none")
    assert abs(ta.value - tb.value) <= n * tol


def test_native_user_data_is_passed(hp, native):
    import ctypes

    scale = ctypes.c_double(2.5)
    llc = native.callable("rosen_grad_scaled", user_data=native.void_p(scale))
    rng = np.random.default_rng(201)
    n = 60
    x = rng.uniform(-2.0, 2.0, n)
    v = rng.standard_normal(n)
    got = hp.hvp(llc, x, v)
    ref = hp.hvp(lambda y: rosen_grad_np(y) * 2.5, x, v)  # same arithmetic: g[i] *= 2.5
    assert_within(got, ref, 2.5 * _native_tol(x, v), "scaled by user_data")
    est = hp.hutchinson_diag(llc, x, hvps=16, seed=1, threads=2, structure="none")
    est_ref = hp.hutchinson_diag(
        lambda y: rosen_grad_np(y) * 2.5, x, hvps=16, seed=1, structure="none"
    )
    assert_within(est.value, est_ref.value, 2.5 * _native_tol(x, np.ones(n)), "diag")
    del scale


@pytest.mark.parametrize("threads", [1, 2], ids=["threads=1", "threads=2"])
def test_native_failure_is_reported(hp, native, threads):
    llc = native.callable("rosen_grad_fail")
    x = _rosen_point(50, 211)
    err = (RuntimeError, ValueError)
    with pytest.raises(err, match=r"(?i)fail|return"):
        hp.hvp(llc, x, np.ones(50), threads=threads)
    with pytest.raises(err, match=r"(?i)fail|return"):
        hp.hutchinson_diag(llc, x, hvps=32, threads=threads, structure="none")
    with pytest.raises(err, match=r"(?i)fail|return"):
        hp.hutchinson_trace(llc, x, hvps=32, threads=threads, structure="none")


def test_native_failure_midway_stops_all_threads(hp, native):
    import ctypes

    left = ctypes.c_long(25)  # 25 successful calls, then failures (from any thread)
    llc = native.callable("rosen_grad_fail_after", user_data=native.void_p(left))
    x = _rosen_point(2000, 221)
    with pytest.raises((RuntimeError, ValueError), match=r"(?i)fail|return"):
        hp.hutchinson_diag(llc, x, hvps=400, threads=2, structure="none")
    # The run stopped early: a full run makes 800 calls (400 probes x 2 for central
    # differences); after the first failure each thread may finish its current block of
    # lanes (2 x 8 calls) but must not go on -- allow 200 attempted calls in all.
    assert left.value >= 25 - 200, f"{25 - left.value} calls attempted"
    del left


def test_native_that_writes_nothing_is_not_read_as_garbage(hp, native):
    # The library fills the output with NaN before each call: the result is an error
    # about non-finite values, or NaN -- never the previous contents of the buffer.
    llc = native.callable("rosen_grad_nowrite")
    x = _rosen_point(20, 231)
    try:
        out = hp.hvp(llc, x, np.ones(20))
    except (RuntimeError, ValueError) as e:
        assert "finite" in str(e).lower() or "nan" in str(e).lower(), str(e)
    else:
        assert np.all(np.isnan(out)), out


@pytest.mark.parametrize(
    "signature",
    [
        "double (double)",
        "int (int, double *, double *, void *)",
        "void (npy_intp, double *, double *, void *)",
    ],
    ids=["double(double)", "int-n", "void-return"],
)
def test_native_wrong_signature(hp, native, signature):
    llc = native.callable(signature=signature)
    x = _rosen_point(10, 241)
    # lists the accepted signatures
    with pytest.raises(ValueError, match=r"int \(npy_intp, double \*, double \*, void \*\)"):
        hp.hvp(llc, x, np.ones(10))
    with pytest.raises(ValueError, match=r"int \(npy_intp, double \*, double \*, void \*\)"):
        hp.hutchinson_diag(llc, x, hvps=4, structure="none")


def test_cython_lowlevelcallable(hp, cython_rosen):
    llc = scipy.LowLevelCallable.from_cython(cython_rosen, "rosen_grad", signature=LLC_SIGNATURE)
    rng = np.random.default_rng(251)
    n = 400
    x = rng.uniform(-2.0, 2.0, n)
    V = rng.standard_normal((5, n))
    assert_within(hp.hvp(llc, x, V), hp.hvp(rosen_grad_np, x, V), _native_tol(x, V), "hvp")
    a = hp.hutchinson_diag(llc, x, hvps=33, seed=8, threads=2, structure="none")
    b = hp.hutchinson_diag(rosen_grad_np, x, hvps=33, seed=8, threads=1, structure="none")
    assert_within(a.value, b.value, _native_tol(x, np.ones(n)), "diag")


# ======================================================================================
# User callbacks: errors and bad return values
# ======================================================================================


class BoomError(Exception):
    pass


def _raiser(exc: BaseException, after: int = 0):
    calls = [0]
    lock = threading.Lock()

    def grad(x):
        with lock:
            calls[0] += 1
            k = calls[0]
        if k > after:
            raise exc
        return rosen_grad_np(np.asarray(x))

    return grad


CALLBACK_ERRORS = [
    ("KeyError", lambda: KeyError("boom"), KeyError),
    ("custom", lambda: BoomError("custom boom 42"), BoomError),
    ("ZeroDivisionError", lambda: ZeroDivisionError("boom / 0"), ZeroDivisionError),
]


@pytest.mark.parametrize(
    "make_exc,exc_type", [c[1:] for c in CALLBACK_ERRORS], ids=[c[0] for c in CALLBACK_ERRORS]
)
@pytest.mark.parametrize("threads", [1, 2], ids=["threads=1", "threads=2"])
@pytest.mark.parametrize("after", [0, 7], ids=["first-call", "after-7-calls"])
def test_callback_exception_propagates(hp, make_exc, exc_type, threads, after):
    x = _rosen_point(30, 261)
    msg = str(make_exc()).strip("'")
    with pytest.raises(exc_type, match=msg):
        hp.hutchinson_diag(
            _raiser(make_exc(), after), x, hvps=64, threads=threads, structure="none"
        )
    with pytest.raises(exc_type, match=msg):
        hp.hutchinson_trace(
            _raiser(make_exc(), after), x, hvps=64, threads=threads, structure="none"
        )
    with pytest.raises(exc_type, match=msg):
        hp.hvp(_raiser(make_exc(), after), x, np.ones((12, 30)), threads=threads)


@pytest.mark.parametrize("threads", [1, 2], ids=["threads=1", "threads=2"])
def test_vectorized_callback_exception_propagates(hp, threads):
    def vec(P):
        raise KeyError("boom")

    x = _rosen_point(30, 271)
    with pytest.raises(KeyError, match="boom"):
        hp.hutchinson_diag(
            hp.Gradient(vec, vectorized=True), x, hvps=16, threads=threads, structure="none"
        )
    with pytest.raises(KeyError, match="boom"):
        hp.hvp(hp.Gradient(vec, vectorized=True), x, np.ones(30))


def test_library_usable_after_callback_error(hp):
    x = _rosen_point(30, 281)
    with pytest.raises(KeyError):
        hp.hutchinson_diag(_raiser(KeyError("boom")), x, hvps=64, threads=2, structure="none")
    a = hp.hutchinson_diag(rosen_grad_np, x, hvps=16, seed=1, threads=2, structure="none")
    b = hp.hutchinson_diag(rosen_grad_np, x, hvps=16, seed=1, threads=1, structure="none")
    assert_array_equal(a.value, b.value)


N_BAD = 5
BAD_RETURNS = [
    # id, returned value, accepted exception types, regex naming what was returned
    ("wrong-length", lambda x: np.ones(N_BAD + 1), (ValueError,), r"\b6\b"),
    ("2-D", lambda x: np.ones((N_BAD, 1)), (ValueError,), r"\(5, 1\)|2-D|2D|ndim|dimension"),
    ("scalar", lambda x: 1.0, (ValueError, TypeError), r"(?i)scalar|\(\)|0-D|ndim|dimension|shape"),
    ("None", lambda x: None, (TypeError, ValueError), r"None"),
    ("nan", lambda x: np.full(N_BAD, np.nan), (ValueError,), r"(?i)nan|finite"),
    ("inf", lambda x: np.where(np.arange(N_BAD) == 2, np.inf, 1.0), (ValueError,), r"(?i)inf"),
    ("strings", lambda x: np.array(["a"] * N_BAD), (TypeError, ValueError), None),
]


@pytest.mark.parametrize(
    "ret,exc,pattern", [b[1:] for b in BAD_RETURNS], ids=[b[0] for b in BAD_RETURNS]
)
@pytest.mark.parametrize("entry", ENTRIES, ids=ENTRIES)
def test_callback_bad_return(hp, ret, exc, pattern, entry):
    x = _rosen_point(N_BAD, 291)
    with pytest.raises(exc, match=pattern):
        if entry == "hvp":
            hp.hvp(ret, x, np.ones(N_BAD))
        else:
            hp.hutchinson_diag(ret, x, hvps=8, threads=2, structure="none")


def test_vectorized_bad_return(hp):
    x = _rosen_point(N_BAD, 301)
    g = hp.Gradient(lambda P: np.ones((np.shape(P)[0], N_BAD + 1)), vectorized=True)
    with pytest.raises(ValueError, match=r"\b6\b"):
        hp.hutchinson_diag(g, x, hvps=8, structure="none")
    g = hp.Gradient(lambda P: np.ones((1, N_BAD)), vectorized=True)  # too few rows
    with pytest.raises(ValueError):
        hp.hutchinson_diag(g, x, hvps=8, structure="none")


def test_complex_scheme_with_real_only_gradient(hp):
    # A gradient that drops the imaginary part returns a float64 array for complex input:
    # the wrong dtype for the complex scheme.  Read as complex it would give Im = 0, i.e. a
    # silent HVP of exactly 0; the issue asks for a clear error naming what was returned.
    def real_grad(x):
        return scipy.optimize.rosen_der(np.real(x))

    x = _rosen_point(10, 311)
    with pytest.raises((ValueError, TypeError), match=r"(?i)complex|dtype|float64|real"):
        hp.hvp(real_grad, x, np.ones(10), scheme="complex")


# ======================================================================================
# The GIL is released during native probing
# ======================================================================================


def _spin_count_during(call) -> int:
    """Increments made by a spinning Python thread between just before and just after call()."""
    counter = [0]
    stop = threading.Event()
    running = threading.Event()

    def spin():
        running.set()
        while not stop.is_set():
            counter[0] += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    t = threading.Thread(target=spin, daemon=True)
    try:
        t.start()
        running.wait()
        before = counter[0]
        call()
        after = counter[0]
    finally:
        stop.set()
        t.join()
        sys.setswitchinterval(old)
    return after - before


def test_gil_released_during_builtin_probing(hp):
    # A second Python thread spins, incrementing a counter, read right before and right
    # after the native call.  If the call held the GIL, the spinner could run only in the
    # few bytecodes around the call: a couple of switch intervals (set to 10 us here),
    # a few hundred increments, up to a few 10^4 when the OS is slow to hand the GIL
    # back on a loaded machine -- independent of how long the call runs.  With the GIL
    # released the spinner runs during the whole call, so its count grows with the work.
    # No clock is read: we double the number of probes (n = 1e5) until one call has seen
    # 300k increments; a held GIL would never get there and fails at 12,800 probes.
    n = 100_000
    x = _rosen_point(n, 321)
    f = hp.functions.rosenbrock()
    seen = []
    probes = 200
    while probes <= 12_800:
        out = []

        def run(p: int = probes, out: list = out) -> None:
            out.append(hp.hutchinson_diag(f, x, hvps=p, threads=1, structure="none"))

        seen.append(_spin_count_during(run))
        assert np.all(np.isfinite(out[0].value))
        if seen[-1] > 300_000:
            break
        probes *= 2
    assert seen[-1] > 300_000, f"spinner increments per call as probes doubled from 200: {seen}"


@pytest.mark.parametrize("threads", [1, 2], ids=["threads=1", "threads=2"])
@pytest.mark.parametrize("entry", ENTRIES, ids=ENTRIES)
def test_gil_released_while_calling_native_gradient(hp, native, entry, threads):
    # Deterministic handshake, no counting and no clock on the success path: the native
    # gradient announces that it has been entered and then waits for a flag that only a
    # Python thread sets (writing a ctypes field needs the GIL).  If the library held the
    # GIL while calling native code, no Python thread could run and the callback would
    # give up (after ~10 s) and return 0, failing the call.
    hs = native.handshake()
    llc = native.callable("rosen_grad_handshake", user_data=native.void_p(hs))
    x = _rosen_point(50, 331)
    done = threading.Event()

    def release():
        while not done.is_set():
            if hs.entered:
                hs.go = 1
                return
            done.wait(1e-4)

    helper = threading.Thread(target=release, daemon=True)
    helper.start()
    try:
        if entry == "hvp":
            out = hp.hvp(llc, x, np.ones((3, 50)), threads=threads)
        else:
            out = hp.hutchinson_diag(
                llc, x, hvps=16, seed=1, threads=threads, structure="none"
            ).value
    finally:
        done.set()
        helper.join()
    assert not hs.timed_out
    assert hs.go == 1
    assert np.all(np.isfinite(out))
