"""Issue 13: tangent callbacks, a scipy.LowLevelCallable giving g and H V itself.

The callback (tests/native/cy_tangent.pyx, built with Cython at test time) is the
chained Rosenbrock gradient with its hand-written JVP; the reference is the built-in
Rosenbrock (exact dual-number HVPs) and SciPy's rosen_hess_prod.  It is called from the
core's threads without the GIL; results are bitwise the same on 1 and 2 threads.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import rosen_der, rosen_hess_prod

import hessprobe as hp

N = 2400  # several chunks of 512


@pytest.fixture(scope="module")
def tangent(cython_tangent):
    def make(name="rosen_tangent", **kw):
        return hp.Tangent(scipy.LowLevelCallable.from_cython(cython_tangent, name), **kw)

    return make


def _x(n=N, seed=0):
    return np.random.default_rng(seed).uniform(-1.2, 1.2, n)


def test_the_signature_is_one_the_core_accepts(tangent):
    assert tangent().fn.signature in hp._core.tangent_signatures()


@pytest.mark.parametrize("rows", [1, 3, 8, 11, 17])
def test_hvp_is_exact(tangent, rows):
    x = _x()
    V = np.random.default_rng(rows).standard_normal((rows, N))
    got = hp.hvp(tangent(), x, V, threads=2)
    want = np.stack([rosen_hess_prod(x, v) for v in V])
    assert_allclose(got, want, rtol=1e-13, atol=1e-13 * np.abs(want).max())
    assert_allclose(got, hp.hvp(hp.functions.rosenbrock(), x, V), rtol=1e-13, atol=1e-9)


def test_a_bare_low_level_callable_with_the_signature_is_a_tangent(tangent):
    x, v = _x(), np.ones(N)
    assert_array_equal(hp.hvp(tangent().fn, x, v), hp.hvp(tangent(), x, v))


@pytest.mark.parametrize("diagonal", [True, False], ids=["diag", "trace"])
def test_hutchinson_is_bitwise_equal_across_threads_and_uses_the_common_probes(tangent, diagonal):
    x = _x()
    run = hp.hutchinson_diag if diagonal else hp.hutchinson_trace
    one, two = (run(tangent(), x, hvps=40, seed=3, threads=t) for t in (1, 2))
    assert_array_equal(np.asarray(one.value), np.asarray(two.value))
    assert_array_equal(np.asarray(one.stderr), np.asarray(two.stderr))
    # the same probes as the built-in's
    builtin = run(hp.functions.rosenbrock(), x, hvps=40, seed=3, structure="none")
    assert_allclose(np.asarray(one.value), np.asarray(builtin.value), rtol=1e-12, atol=1e-9)


def test_gradient_diagonal_hessian_and_adapters(tangent):
    x = _x(40, seed=1)
    f = tangent(bandwidth=1)
    assert_allclose(hp.sources.prepare(f, x).gradient(1), rosen_der(x), rtol=1e-14)
    H = hp.hessian(hp.functions.rosenbrock(), x)
    assert_allclose(hp.hessian(f, x), H, rtol=1e-13, atol=1e-10)
    assert_allclose(hp.hessian(f, x, bandwidth=1).toarray(), H, rtol=1e-13, atol=1e-10)
    assert_allclose(hp.hessian_diag(f, x), np.diag(H), rtol=1e-13)
    assert_allclose(hp.hessp(f)(x, x), H @ x, rtol=1e-12)
    assert_allclose(hp.HessianOperator(f, x) @ np.eye(40), H, rtol=1e-13, atol=1e-10)
    lam = hp.eigenvalues(f, x, k=2)[0]
    assert_allclose(np.sort(lam), np.sort(np.linalg.eigvalsh(H))[-2:], rtol=1e-8)
    est = hp.trace(f, x, 24, method="xtrace", seed=1, structure="none")
    assert np.isfinite(est.value)
    assert np.isfinite(hp.spectral_density(f, x, vectors=2, steps=8).density).all()
    step = hp.optim.AdaHessian(hvps=8).step(f, x)
    assert step.shape == x.shape


def test_a_failure_status_is_a_runtime_error(tangent):
    for run in (
        lambda: hp.hvp(tangent("fails"), _x(), np.ones(N)),
        lambda: hp.hutchinson_diag(tangent("fails"), _x(), hvps=16, threads=2, structure="none"),
    ):
        with pytest.raises(RuntimeError, match="returned -3"):
            run()


def test_an_unwritten_row_is_caught(tangent):
    with pytest.raises(ValueError, match="NaN or Inf"):
        hp.hvp(tangent("forgets_a_row"), _x(), np.ones((3, N)))
    with pytest.raises(ValueError, match="NaN or Inf"):
        hp.hutchinson_trace(tangent("forgets_a_row"), _x(), hvps=8, structure="none")


def test_a_wrong_signature_is_refused(cython_tangent):
    llc = scipy.LowLevelCallable.from_cython(cython_tangent, "wrong_arity")
    with pytest.raises(ValueError, match="tangent callback"):
        hp.Tangent(llc)
    with pytest.raises(TypeError, match="LowLevelCallable"):
        hp.Tangent(lambda x: x)
    with pytest.raises(ValueError, match="bandwidth"):
        good = scipy.LowLevelCallable.from_cython(cython_tangent, "rosen_tangent")
        hp.Tangent(good, bandwidth=-1)


def test_progress_and_ctrl_c_between_blocks(tangent):
    seen = []
    hp.hutchinson_trace(
        tangent(), _x(), hvps=24, progress=lambda d, t: seen.append((d, t)), structure="none"
    )
    assert seen[-1] == (24, 24)

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop("from the progress callback")

    with pytest.raises(Stop):
        hp.hutchinson_trace(tangent(), _x(), hvps=64, progress=stop, structure="none")


def test_bad_x_and_v_name_themselves(tangent):
    from test_bad_input import V0, V_CASES, X0, X_CASES

    f = tangent()
    for x, exc, pattern in X_CASES.values():
        for run in (
            lambda y: hp.hvp(f, y, V0),
            lambda y: hp.hutchinson_trace(f, y, hvps=8, structure="none"),
        ):
            with pytest.raises(exc, match=rf"(?=[\s\S]*\bx\b)(?=[\s\S]*({pattern}))"):
                run(x)
    for v, exc, pattern in V_CASES.values():
        with pytest.raises(exc, match=rf"(?=[\s\S]*\bv\b)(?=[\s\S]*({pattern}))"):
            hp.hvp(f, X0, v)
