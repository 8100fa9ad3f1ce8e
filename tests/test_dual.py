"""Exact HVPs of the user's own NumPy gradient by dual numbers (``scheme="dual"``).

References: analytic Hessians; SciPy's ``rosen_hess``; the built-in Rosenbrock at the
same seed; Hutchinson sums formed in NumPy from the probes every source uses
(``_core.rademacher``); JAX's ``jvp(grad)`` when JAX is installed; the library's own
complex-step and central-difference HVPs within their documented errors.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess
from scipy.special import expit

import hessprobe as hp
from hessprobe import _core

EXACT = 1e-13  # the bound for exact paths: rounding of a few terms per entry


def cubic_gradient(x):
    """Gradient of sum(x^3 + 2 x^2 + 5 x + 1)."""
    x = np.asarray(x)
    return 3 * x**2 + 4 * x + 5


def cubic_hessian(x):
    return np.diag(6 * x + 4)


def sum_sin_gradient(x):
    """Gradient of sum(x^2) + 2 sum(sin x)."""
    return 2 * x + 2 * np.cos(x)


def sum_sin_hessian(x):
    return np.diag(2 - 2 * np.sin(x))


def batched_sum_sin_gradient(X):
    """The batched form: one gradient per row of X."""
    X = np.asarray(X)
    return 2 * X + 2 * np.cos(X)


FUNCTIONS = {
    "cubic": (hp.Gradient(cubic_gradient, scheme="dual"), cubic_hessian),
    "sum_sin": (hp.Gradient(sum_sin_gradient, scheme="dual"), sum_sin_hessian),
    "batched_sum_sin": (
        hp.Gradient(batched_sum_sin_gradient, vectorized=True, scheme="dual"),
        sum_sin_hessian,
    ),
    "rosen_der": (hp.Gradient(rosen_der, scheme="dual"), rosen_hess),
}


def relative_error(got, want):
    return np.abs(got - want).max() / max(np.abs(want).max(), 1e-300)


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("n", [2, 7, 50])
@pytest.mark.parametrize("k", [1, 3, 8, 11])
def test_hvps_are_exact_against_the_analytic_hessian(name, n, k):
    source, hessian = FUNCTIONS[name]
    rng = np.random.default_rng(n * 100 + k)
    x, V = rng.standard_normal(n), rng.standard_normal((k, n))
    got = hp.hvp(source, x, V)
    want = V @ hessian(x)
    assert relative_error(got, want) <= EXACT


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("diagonal", [True, False], ids=["diag", "trace"])
def test_hutchinson_uses_the_same_probes_as_every_source(name, diagonal):
    source, hessian = FUNCTIONS[name]
    n, probes, seed = 30, 37, 5
    x = np.random.default_rng(1).standard_normal(n)
    V = _core.rademacher(seed, 0, probes, n)
    samples = V * (V @ hessian(x))
    if diagonal:
        est = hp.hutchinson_diag(source, x, probes, seed=seed, structure="none")
        assert relative_error(est.value, samples.mean(axis=0)) <= EXACT
    else:
        est = hp.hutchinson_trace(source, x, probes, seed=seed, structure="none")
        assert relative_error(np.array([est.value]), np.array([samples.sum(1).mean()])) <= EXACT
    assert est.probes == probes


@pytest.mark.parametrize("diagonal", [True, False], ids=["diag", "trace"])
def test_rosenbrock_estimates_equal_the_builtin_at_the_same_seed(diagonal):
    x = np.random.default_rng(2).standard_normal(1000)
    estimator = hp.hutchinson_diag if diagonal else hp.hutchinson_trace
    got = estimator(FUNCTIONS["rosen_der"][0], x, 100, seed=11, structure="none")
    want = estimator(hp.functions.rosenbrock(), x, 100, seed=11, structure="none")
    assert relative_error(np.atleast_1d(got.value), np.atleast_1d(want.value)) <= EXACT
    assert relative_error(np.atleast_1d(got.stderr), np.atleast_1d(want.stderr)) <= 1e-10


def test_probing_is_bitwise_identical_for_every_thread_count():
    x = np.random.default_rng(3).standard_normal(500)
    runs = [
        hp.hutchinson_diag(FUNCTIONS["rosen_der"][0], x, 40, seed=1, threads=t, structure="none")
        for t in (1, 2)
    ]
    assert np.array_equal(runs[0].value, runs[1].value)
    assert np.array_equal(runs[0].stderr, runs[1].stderr)


# ---- a two-layer MLP: matmul, tanh, softmax cross-entropy -----------------------------
M, D, H, C = 20, 4, 6, 3
_rng = np.random.default_rng(7)
MLP_X = _rng.standard_normal((M, D))
MLP_Y = np.eye(C)[_rng.integers(0, C, M)]
MLP_SIZE = D * H + H + H * C + C


def _mlp_parts(w):
    w = np.asarray(w)
    W1 = w[: D * H].reshape(D, H)
    b1 = w[D * H : D * H + H]
    W2 = w[D * H + H : D * H + H + H * C].reshape(H, C)
    b2 = w[D * H + H + H * C :]
    return W1, b1, W2, b2


def mlp_gradient(w):
    """Gradient of the mean softmax cross-entropy of tanh(X W1 + b1) W2 + b2, by hand."""
    W1, b1, W2, b2 = _mlp_parts(w)
    A1 = np.tanh(MLP_X @ W1 + b1)
    Z2 = A1 @ W2 + b2
    Z2 = Z2 - Z2.max(axis=1, keepdims=True)
    E = np.exp(Z2)
    P = E / E.sum(axis=1, keepdims=True)
    dZ2 = (P - MLP_Y) / M
    dZ1 = (dZ2 @ W2.T) * (1 - A1**2)
    return np.concatenate(
        [(MLP_X.T @ dZ1).ravel(), dZ1.sum(axis=0), (A1.T @ dZ2).ravel(), dZ2.sum(axis=0)]
    )


MLP_W = np.random.default_rng(8).standard_normal(MLP_SIZE) * 0.5
MLP_V = np.random.default_rng(9).standard_normal((5, MLP_SIZE))


def test_mlp_hvps_match_the_complex_step_and_central_differences():
    exact = hp.hvp(hp.Gradient(mlp_gradient, scheme="dual"), MLP_W, MLP_V)
    complex_step = hp.hvp(hp.Gradient(mlp_gradient, scheme="complex"), MLP_W, MLP_V)
    central = hp.hvp(hp.Gradient(mlp_gradient, scheme="central"), MLP_W, MLP_V)
    # complex step: exact to rounding (h = 1e-20); central: O(h^2) + O(eps / h) with
    # h ~ 6e-6 (1 + rms(w)), about 1e-10 of the scale here
    assert relative_error(exact, complex_step) <= 1e-12
    assert relative_error(exact, central) <= 1e-7


# JAX runs in a subprocess: imported here it would make every later fork (the
# process-pool tests) warn that JAX is multithreaded.
JAX_HVPS = """
import sys
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy
data = np.load(sys.argv[1])
X, Y, w, V = data["X"], data["Y"], data["w"], data["V"]
D, H, C = (int(v) for v in data["dims"])

def loss(w):
    W1 = w[: D * H].reshape(D, H)
    b1 = w[D * H : D * H + H]
    W2 = w[D * H + H : D * H + H + H * C].reshape(H, C)
    b2 = w[D * H + H + H * C :]
    Z2 = jnp.tanh(X @ W1 + b1) @ W2 + b2
    return -jnp.mean(jnp.sum(Y * jax.nn.log_softmax(Z2), axis=1))

np.save(sys.argv[2], np.stack([jax.jvp(jax.grad(loss), (w,), (v,))[1] for v in V]))
"""


def test_mlp_hvps_match_jax(tmp_path):
    if importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed")
    data, out = tmp_path / "mlp.npz", tmp_path / "hv.npy"
    np.savez(data, X=MLP_X, Y=MLP_Y, w=MLP_W, V=MLP_V, dims=[D, H, C])
    subprocess.run([sys.executable, "-c", JAX_HVPS, str(data), str(out)], check=True, timeout=300)
    got = hp.hvp(hp.Gradient(mlp_gradient, scheme="dual"), MLP_W, MLP_V)
    assert relative_error(got, np.load(out)) <= 1e-12


# ---- logistic regression with scipy.special.expit -----------------------------------
def test_trust_krylov_on_a_logistic_gradient_converges_as_with_the_builtin():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((200, 6))
    y = (X @ rng.standard_normal(6) + 0.5 * rng.standard_normal(200) > 0).astype(float)
    l2 = 1e-2
    f = hp.functions.logistic_regression(X, y, l2=l2)

    def gradient(w):
        return X.T @ (expit(X @ w) - y) / len(y) + l2 * w

    w0 = np.zeros(6)
    options = {"gtol": 1e-8}
    builtin = minimize(
        f.value, w0, jac=f.grad, hessp=hp.hessp(f), method="trust-krylov", options=options
    )
    dual = minimize(
        f.value,
        w0,
        jac=gradient,
        method="trust-krylov",
        hessp=hp.hessp(hp.Gradient(gradient, scheme="dual")),
        options=options,
    )
    assert builtin.success and dual.success
    # both stop at |g| <= 1e-8; H >= l2 I bounds the distance to the optimum by |g| / l2
    assert_allclose(dual.x, builtin.x, rtol=0, atol=2e-6)


def test_rosenbrock_minimisation_with_dual_hessp():
    x0 = np.tile([-1.2, 1.0], 10)
    res = minimize(
        rosen,
        x0,
        jac=rosen_der,
        method="trust-krylov",
        hessp=hp.hessp(hp.Gradient(rosen_der, scheme="dual")),
    )
    assert res.success
    assert_allclose(res.x, np.ones(20), atol=1e-6)


# ---- options, failures, results of the wrong kind ------------------------------------
X6, V6 = np.linspace(0.1, 1.0, 6), np.ones(6)


def test_scheme_dual_is_an_option_of_every_entry_point():
    got = hp.hvp(rosen_der, X6, V6, scheme="dual")
    assert relative_error(got, rosen_hess(X6) @ V6) <= EXACT
    assert hp.hessp(rosen_der, scheme="dual")(X6, V6) == pytest.approx(got, rel=EXACT)


def test_dual_has_no_step():
    with pytest.raises(ValueError, match="step"):
        hp.Gradient(rosen_der, scheme="dual", step=1e-6)
    with pytest.raises(ValueError, match="step"):
        hp.hvp(hp.Gradient(rosen_der, scheme="dual"), X6, V6, step=1e-6)


def test_an_unknown_scheme_is_named():
    with pytest.raises(ValueError, match="'dual'"):
        hp.Gradient(rosen_der, scheme="duals")


def raises_value_error(x):
    raise ValueError("boom")


def raises_type_error(x):
    raise TypeError("my own type error")


@pytest.mark.parametrize(
    "run",
    [
        lambda s: hp.hvp(s, X6, V6),
        lambda s: hp.hutchinson_diag(s, X6, 16, seed=0, structure="none"),
        lambda s: hp.hessian(s, X6),
        lambda s: hp.hessian(s, np.linspace(0.1, 1.0, 20), threads=2),  # blocks on 2 threads
        lambda s: hp.hutchinson_trace(
            s, np.linspace(0.1, 1.0, 20), 32, seed=0, threads=2, structure="none"
        ),
    ],
    ids=["hvp", "hutchinson_diag", "hessian", "hessian-threads", "hutchinson-threads"],
)
def test_the_gradients_exception_reaches_the_caller_unchanged(run):
    with pytest.raises(ValueError) as info:
        run(hp.Gradient(raises_value_error, scheme="dual"))
    assert info.value.args == ("boom",)
    with pytest.raises(TypeError) as info:
        run(hp.Gradient(raises_type_error, scheme="dual"))
    assert info.value.args == ("my own type error",)
    assert "scheme='central'" in "\n".join(info.value.__notes__)


@pytest.mark.parametrize(
    ("fn", "error", "match"),
    [
        (lambda x: None, TypeError, "returned None"),
        (lambda x: x[:3], ValueError, r"shape \(3,\); expected \(6,\)"),
        (lambda x: np.array(["a"] * 6), TypeError, "dtype <U1"),
        (lambda x: np.sqrt(x - x), ValueError, "non-finite"),  # sqrt at 0: infinite lanes
        (lambda x: x * np.nan, ValueError, "non-finite"),
    ],
    ids=["None", "shape", "dtype", "infinite lanes", "nan"],
)
def test_a_bad_result_is_named(fn, error, match):
    with pytest.raises(error, match=match), np.errstate(all="ignore"):
        hp.hvp(hp.Gradient(fn, scheme="dual"), X6, V6)


def test_a_result_that_does_not_depend_on_x_has_zero_products():
    assert np.array_equal(
        hp.hvp(hp.Gradient(lambda x: np.ones(6), scheme="dual"), X6, V6), np.zeros(6)
    )


def test_the_point_is_read_only():
    def writes(x):
        x[0] = 1.0
        return x

    with pytest.raises(ValueError, match="read-only"):
        hp.hvp(hp.Gradient(writes, scheme="dual"), X6, V6)


def test_a_dual_scalar_shows_its_lanes_and_refuses_float():
    seen = []
    hp.hvp(hp.Gradient(lambda x: seen.append(x[1]) or x, scheme="dual"), X6, V6)
    s = seen[0]
    assert s.value == X6[1] and np.array_equal(s.tangents, [1.0])
    assert repr(s) == f"dual({float(X6[1])!r}, [1.0])"
    with pytest.raises(TypeError, match="drop its tangent lanes"):
        float(s)


def test_a_point_too_large_for_dual_arrays_is_refused_up_front(monkeypatch):
    monkeypatch.setattr("hessprobe._validation.available_memory", lambda: 10_000)
    with pytest.raises(MemoryError, match="scheme='dual' at n = 100"):
        hp.hvp(hp.Gradient(rosen_der, scheme="dual"), np.ones(100), np.ones(100))
