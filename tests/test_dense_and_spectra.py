"""Issue 4: dense Hessians (hp.hessian), extreme eigenpairs (hp.eigenvalues) and spectral
densities by stochastic Lanczos quadrature (hp.spectral_density).

References: the NumPy formulas of ``references``, scipy.optimize.rosen_hess,
numpy.linalg.eigvalsh of the dense Hessian, and spectra known by construction.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import references
import scipy.optimize
from numpy.testing import assert_allclose, assert_array_equal
from references import EPS, rosen_grad_np, rosen_grad_rows
from scipy.optimize import rosen_der

# ======================================================================================
# hp.hessian
# ======================================================================================


@pytest.mark.parametrize("n", [5, 40], ids=lambda n: f"n={n}")
def test_hessian_of_every_builtin_is_its_exact_hessian(hp, builtin_case, n):
    rng = np.random.default_rng(100 + n)
    f, x, ref = builtin_case.make(n, rng)
    H = hp.hessian(f, x)
    want = ref.hessian(x)
    # the 1e-12, relative to the largest entry (an entry where terms cancel carries
    # the rounding of its largest term); exact paths agree to a few ulps (test_functions)
    assert_allclose(H, want, rtol=0, atol=1e-12 * np.abs(want).max())
    assert_array_equal(H, f.hessian(x))  # it is the built-in's own exact Hessian


def _rosen_gradient_term_scale(x: np.ndarray) -> float:
    """max_i of the sum of |terms| of the Rosenbrock g_i: the scale of g's rounding."""
    s = np.abs(2.0 * (1.0 - x))
    s[:-1] += np.abs(400.0 * x[:-1] * (x[1:] - x[:-1] ** 2))
    s[1:] += np.abs(200.0 * (x[1:] - x[:-1] ** 2))
    return float(s.max())


@pytest.mark.parametrize(
    "make_source",
    [lambda hp: rosen_der, lambda hp: hp.Gradient(rosen_grad_rows, vectorized=True)],
    ids=["callable", "vectorized"],
)
def test_finite_difference_hessian_is_within_its_documented_error(hp, make_source):
    n = 50
    x = np.random.default_rng(7).uniform(-2.0, 2.0, n)
    H = hp.hessian(make_source(hp), x, block=16)  # 4 engine calls, the last one partial
    want = scipy.optimize.rosen_hess(x)
    h = hp.dense.column_step("central", x)
    # The documented error of a central difference: truncation (h^2 / 6) d^3 g_i/dx_j^3,
    # which for Rosenbrock is 400 h^2 on the diagonal and 0 elsewhere, plus rounding
    # ~ eps S / h (S: size of the terms of g).  We allow 4 eps S / h for the rounding
    # (measured: 7.4e-8 diagonal, 2.4e-8 off-diagonal; bounds 6.9e-8 + 1.1e-7 and 1.1e-7).
    rounding = 4.0 * EPS * _rosen_gradient_term_scale(x) / h
    bound = np.full((n, n), rounding)
    bound[np.diag_indices(n)] += 400.0 * h * h
    references.assert_within(H, want, bound, "central-difference Hessian")
    assert_array_equal(H, H.T)  # symmetrised


def test_complex_step_hessian_is_exact_to_rounding(hp):
    n = 30
    x = np.random.default_rng(8).uniform(-2.0, 2.0, n)
    H = hp.hessian(hp.Gradient(rosen_grad_np, scheme="complex"), x)
    want = scipy.optimize.rosen_hess(x)
    # no subtraction: a few ulps of the term sizes (measured 2e-16 relative)
    assert_allclose(H, want, rtol=0, atol=64 * EPS * np.abs(want).max())


def test_hessian_refuses_bad_input(hp):
    with pytest.raises(ValueError, match="block must be >= 1"):
        hp.hessian(rosen_der, np.zeros(3), block=0)
    with pytest.raises(TypeError, match="block must be an integer"):
        hp.hessian(rosen_der, np.zeros(3), block=2.5)
    with pytest.raises(ValueError, match="x must be finite"):
        hp.hessian(rosen_der, [0.0, np.inf])
    with pytest.raises(ValueError, match="step must be"):
        hp.hessian(rosen_der, np.zeros(3), step=-1.0)


# ======================================================================================
# hp.eigenvalues at n = 200 against numpy.linalg.eigvalsh
# ======================================================================================

EIG_CASES = ["rosenbrock", "ackley", "quadratic", "logistic_regression"]


@pytest.fixture(scope="module", params=EIG_CASES, ids=EIG_CASES)
def eig_case(request):
    import hessprobe as hp

    rng = np.random.default_rng(200)
    f, x, ref = references.make_case(request.param, 200, rng)
    H = ref.hessian(x)
    return hp, f, x, H, np.linalg.eigvalsh(H)


@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
def test_eigenvalues_match_eigvalsh_at_n_200(eig_case, which):
    hp, f, x, H, lam = eig_case
    k = 6
    vals, vecs = hp.eigenvalues(f, x, k=k, which=which)
    if which == "LA":
        want = lam[-k:]
    elif which == "SA":
        want = lam[:k]
    else:
        want = np.sort(lam[np.argsort(np.abs(lam))[-k:]])
    # the 1e-8, relative to the spectral norm (ARPACK at tol=0 converges to
    # machine precision; measured <= 1e-14)
    scale = np.abs(lam).max()
    assert_allclose(vals, want, rtol=0, atol=1e-8 * scale)
    assert vecs.shape == (200, k)
    assert_allclose(vecs.T @ vecs, np.eye(k), atol=1e-8)
    # eigenpairs: |H u - lambda u| small against |H|
    assert np.abs(H @ vecs - vecs * vals).max() <= 1e-8 * scale


def test_eigenvalues_of_a_finite_difference_source(hp):
    n = 60
    x = np.random.default_rng(9).uniform(-2.0, 2.0, n)
    vals, _ = hp.eigenvalues(rosen_der, x, k=3, which="SA")
    want = np.linalg.eigvalsh(scipy.optimize.rosen_hess(x))[:3]
    # central differences carry ~1e-11 relative error (see above); eigenvalues are
    # perturbed by at most the norm of the error (Weyl): 1e-9 relative is ample
    assert_allclose(vals, want, rtol=0, atol=1e-9 * np.abs(want).max() + 1e-6)


def test_eigenvalues_refuse_bad_input(hp):
    f = hp.functions.rosenbrock()
    with pytest.raises(ValueError, match="k must be < n"):
        hp.eigenvalues(f, np.zeros(5), k=5)
    with pytest.raises(ValueError, match="which must be one of"):
        hp.eigenvalues(f, np.zeros(5), k=2, which="BE")
    with pytest.raises(TypeError, match="k must be an integer"):
        hp.eigenvalues(f, np.zeros(5), k=2.0)
    with pytest.raises(ValueError, match="tol must be"):
        hp.eigenvalues(f, np.zeros(5), k=2, tol=-1.0)


# ======================================================================================
# hp.spectral_density: stochastic Lanczos quadrature
# ======================================================================================


def _rotated(lam: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
    A = (Q * lam) @ Q.T
    return (A + A.T) / 2


def test_slq_moments_of_a_diagonal_quadratic_are_exact(hp):
    # A diagonal A with Rademacher v: v'A^j v = sum_i lambda_i^j v_i^2 = tr(A^j) for every
    # v, so every moment of the quadrature with j <= 2 m - 1 equals mean(lambda^j) to
    # rounding (Gauss quadrature with m nodes is exact for polynomials of degree 2m - 1).
    n, m = 100, 12
    lam = np.linspace(-3.0, 7.0, n) ** 3 / 50 + 0.1
    sd = hp.spectral_density(hp.functions.quadratic(np.diag(lam)), np.zeros(n), vectors=3, steps=m)
    for j in range(2 * m):
        want = float(np.mean(lam**j))
        scale = float(np.mean(np.abs(lam) ** j))
        assert sd.moment(j) == pytest.approx(want, rel=0, abs=1e-10 * scale), j


def test_slq_on_few_distinct_eigenvalues_finds_them_with_their_multiplicities(hp):
    # 4 distinct eigenvalues: each Krylov space is exhausted after 4 steps, the run stops
    # there, and the quadrature is exactly the spectral measure: nodes = the eigenvalues,
    # weights = multiplicity / n (for each v, since v_i^2 = 1).
    rng = np.random.default_rng(11)
    distinct = np.array([-2.0, 0.5, 3.0, 10.0])
    counts = np.array([10, 25, 5, 20])
    lam = np.repeat(distinct, counts)
    A = _rotated(lam, rng)
    sd = hp.spectral_density(hp.functions.quadratic(A), np.zeros(lam.size), vectors=2, steps=30)
    assert sd.nodes.size == 2 * distinct.size  # stopped at breakdown, both vectors
    order = np.argsort(sd.nodes)
    nodes, weights = sd.nodes[order], sd.weights[order]
    assert_allclose(nodes, np.repeat(distinct, 2), rtol=0, atol=1e-10)
    # weights per vector are (v'P_k v) / n, P_k the eigenprojector: random, but their
    # sum over k is exactly 1/vectors, and E = multiplicity / n
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)


def test_slq_moments_of_a_rotated_quadratic_within_their_standard_error(hp):
    rng = np.random.default_rng(12)
    n, vectors = 120, 16  # two groups of 8 start vectors
    lam = rng.uniform(-1.0, 4.0, n)
    A = _rotated(lam, rng)
    sd = hp.spectral_density(hp.functions.quadratic(A), np.zeros(n), vectors=vectors, steps=20)
    Aj = np.eye(n)
    for j in range(1, 5):
        Aj = Aj @ A
        want = float(np.mean(lam**j))
        # per vector: v'A^j v / n with Var = 2 sum_{i != k} (A^j)_ik^2 / n^2 (Rademacher);
        # |z| < 5 fails with probability < 1e-6 (Gaussian approximation)
        off = Aj - np.diag(np.diag(Aj))
        sd_j = math.sqrt(2.0 * float((off * off).sum()) / vectors) / n
        assert abs(sd.moment(j) - want) < 5 * sd_j, (j, sd.moment(j), want, sd_j)


def test_slq_density_is_a_broadened_quadrature(hp):
    rng = np.random.default_rng(13)
    n = 80
    lam = np.concatenate([rng.normal(0.0, 0.1, n - 5), [5.0, 6.0, 7.0, 8.0, 9.0]])
    f = hp.functions.quadratic(_rotated(lam, rng))
    sd = hp.spectral_density(f, np.zeros(n), vectors=4, steps=30, grid=4000)
    assert sd.grid.shape == sd.density.shape == (4000,)
    dx = sd.grid[1] - sd.grid[0]
    # a sum of Gaussians of total weight 1, on a grid covering the nodes +- 5 sigma:
    # its integral is 1 (up to the 5.7e-7 tail mass beyond 5 sigma), its mean is the
    # first moment, and its variance adds sigma^2 to the quadrature's
    assert float(sd.density.sum() * dx) == pytest.approx(1.0, abs=1e-5)
    mean = float((sd.grid * sd.density).sum() * dx)
    assert mean == pytest.approx(sd.moment(1), abs=1e-4 * np.abs(lam).max())
    second = float((sd.grid**2 * sd.density).sum() * dx)
    assert second == pytest.approx(sd.moment(2) + sd.sigma**2, rel=1e-4)
    # the outliers are resolved: the density has a peak near each
    for peak in (5.0, 7.0, 9.0):
        i = int(np.argmin(np.abs(sd.grid - peak)))
        assert sd.density[i] > 10 * sd.density[int(np.argmin(np.abs(sd.grid - (peak + 0.5))))]
    # the same seed gives the same density
    assert_array_equal(
        hp.spectral_density(f, np.zeros(n), vectors=4, steps=30, grid=4000).density, sd.density
    )


def test_spectral_density_on_a_given_grid_and_sigma(hp):
    f = hp.functions.quadratic(np.diag([1.0, 2.0, 3.0]))
    grid = np.linspace(0.0, 4.0, 9)
    sd = hp.spectral_density(f, np.zeros(3), grid=grid, sigma=0.1, vectors=2)
    assert_array_equal(sd.grid, grid)
    # exactly three nodes per vector, weight 1/3 each: the density at 2 is the sum of
    # three Gaussians of sd 0.1 at distance 0, 1, 1
    g = lambda d: math.exp(-0.5 * (d / 0.1) ** 2) / (0.1 * math.sqrt(2 * math.pi))  # noqa: E731
    assert sd.density[4] == pytest.approx((g(0.0) + 2 * g(1.0)) / 3, rel=1e-10)
    assert sd.steps == 3  # capped at n


def test_spectral_density_refuses_bad_input(hp):
    f = hp.functions.rosenbrock()
    with pytest.raises(ValueError, match="vectors must be >= 1"):
        hp.spectral_density(f, np.zeros(5), vectors=0)
    with pytest.raises(ValueError, match="sigma must be"):
        hp.spectral_density(f, np.zeros(5), sigma=0.0)
    with pytest.raises(ValueError, match="grid must be >= 2"):
        hp.spectral_density(f, np.zeros(5), grid=1)
    with pytest.raises(TypeError, match="sd must be a SpectralDensity"):
        hp.plot_spectral_density("density")


def test_plot_without_matplotlib_raises_a_clear_import_error(hp, monkeypatch):
    sd = hp.spectral_density(hp.functions.rosenbrock(), np.zeros(6), steps=4)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="needs matplotlib"):
        sd.plot()


def test_plot_draws_the_density(hp):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sd = hp.spectral_density(hp.functions.rosenbrock(), np.full(10, 0.5), steps=8)
    ax = sd.plot()
    (line,) = ax.get_lines()
    assert_array_equal(line.get_xdata(), sd.grid)
    assert_array_equal(line.get_ydata(), sd.density)
    assert ax.get_yscale() == "log"
    plt.close(ax.figure)
