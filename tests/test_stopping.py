"""Stopping on a target error (tol=, hvps=): the engine checks after every block.

Each check is against the estimate's own reported standard error, recomputed here in
NumPy from the returned arrays, and against plain runs with a fixed number of probes.
"""

from __future__ import annotations

import numpy as np
import pytest
from references import rosen_grad_np

BLOCK = 8  # probes per block of the engine


def rel_error(est, diagonal: bool) -> float:
    if diagonal:
        return float(np.linalg.norm(est.stderr) / np.linalg.norm(est.value))
    return float(est.stderr / abs(est.value))


def run(hp, source, x, diagonal, **kw):
    estimator = hp.hutchinson_diag if diagonal else hp.hutchinson_trace
    return estimator(source, x, **kw, structure="none")


def same(a, b) -> bool:
    return bool(np.array_equal(a.value, b.value) and np.array_equal(a.stderr, b.stderr))


def _sources(hp, kind):
    rng = np.random.default_rng(31)
    if kind == "rosenbrock":  # chunked schedule (several blocks a round without tol)
        return hp.functions.rosenbrock(), rng.uniform(-2.0, 2.0, 3000)
    if kind == "ackley":  # blocked schedule (whole-vector state)
        return hp.functions.ackley(), rng.uniform(0.3, 2.0, 500) * rng.choice([-1.0, 1.0], 500)
    return rosen_grad_np, rng.uniform(-2.0, 2.0, 300)  # finite differences of a callable


@pytest.mark.parametrize("threads", [1, 2], ids=["1thread", "2threads"])
@pytest.mark.parametrize("diagonal", [False, True], ids=["trace", "diag"])
@pytest.mark.parametrize("kind", ["rosenbrock", "ackley", "callable"])
def test_tol_stops_at_the_first_block_that_meets_it(hp, kind, diagonal, threads):
    source, x = _sources(hp, kind)
    # A target a few blocks away: half the relative error after two blocks, which takes
    # about four times the probes (the error falls like 1/sqrt(probes)).
    tol = 0.5 * rel_error(run(hp, source, x, diagonal, hvps=2 * BLOCK, seed=4), diagonal)
    est = run(hp, source, x, diagonal, seed=4, threads=threads, tol=tol, hvps=4000)
    assert est.probes % BLOCK == 0 and est.hvps == est.probes
    assert 3 * BLOCK <= est.probes < 4000  # stopped early, after a few blocks
    assert rel_error(est, diagonal) <= tol  # the target is met ...
    # ... and bitwise the plain run with that many probes (any thread count) ...
    plain = run(hp, source, x, diagonal, hvps=est.probes, seed=4, threads=1)
    assert same(est, plain)
    # ... and one block fewer had not met it: no block past the point it was met.
    before = run(hp, source, x, diagonal, hvps=est.probes - BLOCK, seed=4, threads=1)
    assert rel_error(before, diagonal) > tol


@pytest.mark.parametrize("diagonal", [False, True], ids=["trace", "diag"])
def test_unreachable_tol_stops_at_max_probes(hp, diagonal):
    f = hp.functions.rosenbrock()
    x = np.random.default_rng(32).uniform(-2.0, 2.0, 1000)
    est = run(hp, f, x, diagonal, seed=1, tol=1e-9, hvps=100)
    assert est.probes == 100  # 12 full blocks and a partial one of 4
    assert rel_error(est, diagonal) > 1e-9
    assert same(est, run(hp, f, x, diagonal, hvps=100, seed=1))


def test_exact_case_stops_after_two_blocks(hp):
    # A separable function: every sample equals the diagonal, stderr is exactly 0, and
    # the first check (after the second block) meets any target.
    f = hp.functions.styblinski_tang()
    x = np.linspace(-3.0, 3.0, 100)
    est = hp.hutchinson_diag(f, x, tol=1e-12, hvps=1000, structure="none")
    assert est.probes == 2 * BLOCK
    np.testing.assert_array_equal(est.value, f.hessian_diag(x))  # exact, bit for bit


def test_hvps_is_the_maximum_with_tol(hp):
    f = hp.functions.rosenbrock()
    x = np.full(200, 0.5)
    assert hp.hutchinson_trace(f, x, hvps=40, tol=1e-9, structure="none").probes == 40


def test_trace_and_diagonal_pass_tol(hp):
    f = hp.functions.rosenbrock()
    x = np.random.default_rng(33).uniform(-2.0, 2.0, 500)
    a = hp.trace(f, x, 2000, tol=0.01, seed=3, structure="none")
    b = hp.hutchinson_trace(f, x, seed=3, tol=0.01, hvps=2000, structure="none")
    assert same(a, b) and a.probes == b.probes < 2000
    c = hp.diagonal(f, x, 2000, tol=0.1, seed=3, structure="none")
    assert rel_error(c, True) <= 0.1 and c.probes < 2000


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"tol": 0.0}, ValueError, "tol must be a finite number > 0"),
        ({"tol": float("nan")}, ValueError, "tol must be a finite number > 0"),
        ({"tol": "1%"}, TypeError, "tol must be a number"),
        ({"tol": 0.1, "hvps": 0}, ValueError, "hvps must be >= 1"),
        ({"tol": 0.1, "max_probes": 100}, TypeError, "max_probes"),
    ],
    ids=["zero", "nan", "string", "cap-zero", "no-max-probes"],
)
def test_bad_tol(hp, kw, exc, match):
    with pytest.raises(exc, match=match):
        hp.hutchinson_trace(hp.functions.rosenbrock(), np.ones(10), **kw, structure="none")


def test_tol_only_for_hutchinson(hp):
    with pytest.raises(ValueError, match="tol= stops Hutchinson"):
        hp.trace(
            hp.functions.rosenbrock(), np.ones(10), 20, method="xtrace", tol=0.1, structure="none"
        )
