"""Sparsity detection (hessprobe.tracing): detected patterns against dense references.

The reference pattern of a gradient g at a point is that of its Jacobian, computed
column by column with exact dual-number HVPs (hp.hvp with scheme="dual": an entry that
is structurally zero comes out exactly 0.0, since every tangent it sums is 0), made
symmetric, and united over 3 random points (an entry is structurally nonzero if it is
nonzero at any of them; at a random point a structural nonzero is nonzero with
probability 1).  The Rosenbrock case is also checked against scipy.optimize.rosen_hess.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse
from numpy.typing import NDArray
from scipy.optimize import rosen_der, rosen_hess

import hessprobe as hp
from hessprobe import _tracer
from hessprobe.tracing import CAPACITIES, TracingError, trace_pattern

F64 = NDArray[np.float64]


def jacobian_pattern(g: Callable[[Any], Any], x: F64) -> NDArray[np.bool_]:
    """The symmetric pattern of g's Jacobian at x, from exact dual-number columns."""
    n = x.shape[0]
    rows = hp.hvp(hp.Gradient(g, scheme="dual"), x, np.eye(n))  # row j: J e_j
    J = np.asarray(rows).T
    return (J != 0) | (J.T != 0)


def reference(g: Callable[[Any], Any], n: int, points: int = 3, seed: int = 0) -> NDArray[np.bool_]:
    rng = np.random.default_rng(seed)
    P = np.zeros((n, n), dtype=bool)
    for _ in range(points):
        P |= jacobian_pattern(g, rng.uniform(-2.0, 2.0, n))
    return P


# ---- the gradients ---------------------------------------------------------------------
def laplace_grad(x: Any, m: int = 6) -> Any:
    """Gradient of 1/2 |grad u|^2 + sum u^4 / 4 on an m x m grid (5-point stencil)."""
    u = np.asarray(x).reshape(m, m)
    g = np.zeros_like(u)
    dx = u[1:, :] - u[:-1, :]
    g[1:, :] += dx
    g[:-1, :] -= dx
    dy = u[:, 1:] - u[:, :-1]
    g[:, 1:] += dy
    g[:, :-1] -= dy
    g += u**3
    return g.reshape(-1)


def roll_grad(x: Any) -> Any:
    """Gradient of sum_i (x_i x_{i+1})^2 + sum_i sin(x_i + x_{i+3}) (cyclic)."""
    y = x * np.roll(x, -1)
    s = np.cos(x + np.roll(x, -3))
    return 2.0 * y * np.roll(x, -1) + np.roll(2.0 * y * x, 1) + s + np.roll(s, 3)


def block_grad(x: Any, k: int) -> Any:
    """Gradient of sum over blocks of k of (sum of the block)^2 / 2 + sum x^4 / 4."""
    xb = x.reshape(-1, k)
    s = xb.sum(axis=1, keepdims=True)
    return (s + 0.0 * xb + xb**3).reshape(-1)


def sum_squared_grad(x: Any) -> Any:
    """Gradient of (sum x)^2 / 2 + sum x^4 / 4: every row dense."""
    return np.sum(x) + x**3


def matmul_grad(x: Any, A: F64) -> Any:
    """Gradient of x^T A x / 2 + sum exp(x), A symmetric with zeros: its pattern."""
    return A @ x + np.exp(x)


def dot_grad(x: Any, A: F64) -> Any:
    return np.dot(A, x) + np.exp(x)


def where_grad(x: Any) -> Any:
    return np.where(x > 0, x * np.roll(x, 1), 2.0 * x)


def maximum_grad(x: Any) -> Any:
    return np.maximum(x, 0.0) * np.roll(x, 1) + x


def sparse_symmetric(n: int, seed: int) -> F64:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.15)
    return A + A.T


def add_at_grad(x: Any) -> Any:
    g = np.zeros_like(x)
    np.add.at(g, [0, 0, 1], x[:3] * x[3:6])
    return g


CASES: list[tuple[str, Callable[[Any], Any], int]] = [
    ("rosen_der", rosen_der, 12),
    ("laplace", laplace_grad, 36),
    ("roll", roll_grad, 11),
    ("blocks3", lambda x: block_grad(x, 3), 24),
    ("blocks12", lambda x: block_grad(x, 12), 36),
    ("matmul", lambda x: matmul_grad(x, sparse_symmetric(15, 1)), 15),
    ("dot", lambda x: dot_grad(x, sparse_symmetric(15, 2)), 15),
    # The operations that flow through, one or two at a time.
    ("mean_var_std", lambda x: x * (np.mean(x) + np.var(x) + np.std(x)), 6),
    ("norm", lambda x: x * np.linalg.norm(x[:3]), 6),
    ("cumsum", np.cumsum, 6),
    ("diff_concatenate", lambda x: np.concatenate([np.diff(x) ** 2, x[:1]]), 7),
    ("outer", lambda x: np.outer(x, x)[0], 6),
    ("pad", lambda x: np.pad(x, 1)[2:] * x, 6),
    ("tensordot", lambda x: np.tensordot(np.eye(6)[::-1], x**2, axes=1), 6),
    ("stack_axis_sum", lambda x: np.stack([x, np.roll(x, 2) ** 2]).sum(axis=0), 6),
    ("fancy_index", lambda x: x[np.arange(6)[::-1]] * x, 6),
    ("add_at", add_at_grad, 6),
    ("power", lambda x: np.exp(x) ** 2.5 + 2.0**x + np.exp(x) ** np.roll(x, 1) + x**0, 6),
    ("prod", lambda x: np.prod(x[:3]) * x, 6),
    ("constant_where", lambda x: np.where(np.arange(6) > 2, x**2, 0.0), 6),
    ("elementary", lambda x: np.tanh(x) * np.arctan2(x, np.roll(x, 1)) + np.hypot(x, 2.0), 6),
]


@pytest.mark.parametrize("mode", ["global", "local"])
@pytest.mark.parametrize(("name", "g", "n"), CASES, ids=[c[0] for c in CASES])
def test_detected_pattern_equals_dense_reference(
    name: str, g: Callable[[Any], Any], n: int, mode: Any
) -> None:
    x = np.random.default_rng(5).uniform(-2.0, 2.0, n)
    P = trace_pattern(g, x, mode=mode)
    assert isinstance(P, scipy.sparse.csr_array)
    assert P.shape == (n, n) and P.dtype == np.bool_ and P.has_sorted_indices
    dense = P.toarray()
    assert (dense == dense.T).all()
    expected = reference(g, n)
    assert not (expected & ~dense).any(), "an entry of the reference was missed"
    np.testing.assert_array_equal(dense, expected)


def test_rosenbrock_pattern_is_tridiagonal_like_rosen_hess() -> None:
    n = 50
    rng = np.random.default_rng(3)
    expected = np.zeros((n, n), dtype=bool)
    for _ in range(3):
        expected |= rosen_hess(rng.uniform(-2.0, 2.0, n)) != 0
    P = trace_pattern(rosen_der, np.zeros(n))
    assert P is not None
    np.testing.assert_array_equal(P.toarray(), expected)
    assert P.nnz == 3 * n - 2


def counting(g: Callable[[Any], Any]) -> tuple[Callable[[Any], Any], list[int]]:
    """g, and a list that gains the capacity of every array it is called on."""
    calls: list[int] = []

    def wrapped(x: Any) -> Any:
        calls.append(x.dtype.itemsize)
        return g(x)

    return wrapped, calls


def itemsize(capacity: int) -> int:
    return int(_tracer.dtype(capacity, False).itemsize)


def test_capacity_ladder_retries_on_overflow_only() -> None:
    x = np.linspace(-1.0, 1.0, 36)
    g, calls = counting(laplace_grad)
    assert trace_pattern(g, x) is not None
    assert calls == [itemsize(8)]  # 5 entries a row: the first capacity holds them
    g, calls = counting(lambda x: block_grad(x, 12))
    assert trace_pattern(g, x) is not None
    assert calls == [itemsize(8), itemsize(32)]  # 12 a row: 8 overflows, 32 holds


@pytest.mark.parametrize(
    ("n", "max_nonzeros", "capacities"),
    [(200, 128, (8, 32, 128)), (20, 8, (8,)), (600, 512, (8, 32, 128, 512)), (40, 30, (8, 32))],
)
def test_dense_coupling_is_reported_dense(
    n: int, max_nonzeros: int, capacities: tuple[int, ...]
) -> None:
    g, calls = counting(sum_squared_grad)
    assert trace_pattern(g, np.ones(n), max_nonzeros=max_nonzeros) is None
    assert calls == [itemsize(c) for c in capacities]


def test_dense_coupling_within_the_limit_is_the_full_pattern() -> None:
    P = trace_pattern(sum_squared_grad, np.ones(20))
    assert P is not None
    np.testing.assert_array_equal(P.toarray(), reference(sum_squared_grad, 20))


def test_rows_past_max_nonzeros_below_a_capacity_are_dense() -> None:
    x = np.ones(36)
    assert trace_pattern(lambda x: block_grad(x, 12), x, max_nonzeros=11) is None
    assert trace_pattern(lambda x: block_grad(x, 12), x, max_nonzeros=12) is not None


def test_dense_marker_absorbs() -> None:
    X = _tracer.seed(np.arange(20.0), 8, False)
    assert X[3].indices.tolist() == [3]
    s8 = np.sum(X[:8])
    assert s8.indices.tolist() == list(range(8))
    assert np.sum(X[:9]).indices is None  # past the capacity: dense
    assert (np.sum(X[:9]) * 0.0 + X[0]).indices.tolist() == [0]  # a zero factor drops it
    assert (np.sum(X[:9]) + X[10]).indices is None  # dense absorbs


def test_floor_and_sign_give_empty_sets_but_are_not_constants() -> None:
    def g(x: Any) -> Any:
        # floor(x) + 0.0 is 0 at this x but not a constant: it must not drop roll(x, 1).
        return np.floor(x) * x + np.sign(x) + (np.floor(x) + 0.0) * np.roll(x, 1) ** 2

    P = trace_pattern(g, np.linspace(0.1, 0.9, 6))  # floor(x) = 0 at every x_i here
    assert P is not None
    cyclic = np.eye(6, dtype=bool) | np.roll(np.eye(6, dtype=bool), 1, axis=1)
    np.testing.assert_array_equal(P.toarray(), cyclic | cyclic.T)


def test_global_refuses_control_flow_and_local_takes_the_branch() -> None:
    x = np.array([1.0, -1.0, 2.0, -0.5, 0.3, -2.0, 1.5, -1.2])
    with pytest.raises(TracingError, match="mode='local'"):
        trace_pattern(where_grad, x)
    assert issubclass(TracingError, TypeError)
    P = trace_pattern(where_grad, x, mode="local")
    assert P is not None
    np.testing.assert_array_equal(P.toarray(), jacobian_pattern(where_grad, x))


def test_maximum_global_unites_both_branches_local_takes_one() -> None:
    # No x_i = +-1: d g_i / d x_i = [x_i > 0] x_{i-1} + 1 would cancel to 0 at such x.
    x = np.array([1.1, -1.3, 2.0, -0.5, 0.3, -2.0, 1.5, -1.2])
    local = trace_pattern(maximum_grad, x, mode="local")
    assert local is not None
    np.testing.assert_array_equal(local.toarray(), jacobian_pattern(maximum_grad, x))
    glob = trace_pattern(maximum_grad, x)
    assert glob is not None
    both = jacobian_pattern(maximum_grad, x) | jacobian_pattern(maximum_grad, -x)
    np.testing.assert_array_equal(glob.toarray(), both)


def test_maximum_reduction_is_the_union_globally() -> None:
    P = trace_pattern(lambda x: x * np.max(x), np.linspace(0.1, 1.0, 5))
    assert P is not None and P.nnz == 25  # max picks an element that depends on x


def test_scalar_comparisons_by_value_locally() -> None:
    def g(x: Any) -> Any:
        return x * x[1] if x[0] > 0 else x

    P = trace_pattern(g, np.array([1.0, 2.0, 3.0]), mode="local")
    assert P is not None
    taken = jacobian_pattern(lambda x: x * x[1], np.array([1.0, 2.0, 3.0]))  # the branch at x
    np.testing.assert_array_equal(P.toarray(), taken)
    local = trace_pattern(g, np.array([-1.0, 2.0, 3.0]), mode="local")
    assert local is not None
    np.testing.assert_array_equal(local.toarray(), np.eye(3, dtype=bool))


@pytest.mark.parametrize(
    "use",
    [
        lambda x: x if float(x[0]) > 0 else -x,
        lambda x: x if x[0] else -x,
        lambda x: x if x[0] > 0 else -x,
        lambda x: np.sort(x),
        lambda x: x * np.argmax(x),
        lambda x: np.where(np.isnan(x), 0.0, x),
        lambda x: x[np.nonzero(x)],
    ],
    ids=["float", "bool", "scalar-comparison", "sort", "argmax", "isnan", "nonzero"],
)
def test_global_refuses_every_use_of_a_value(use: Callable[[Any], Any]) -> None:
    with pytest.raises(TracingError, match="control flow on values"):
        trace_pattern(use, np.ones(5))


def test_unsupported_operation_raises_type_error_with_a_note() -> None:
    with pytest.raises(TypeError) as info:
        trace_pattern(lambda x: np.fmod(x, 2.0), np.ones(4))
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "sparsity=" in notes and "bandwidth=" in notes


def test_user_exception_reaches_the_caller_unchanged() -> None:
    error = RuntimeError("boom")

    def g(x: Any) -> Any:
        raise error

    with pytest.raises(RuntimeError) as info:
        trace_pattern(g, np.ones(3))
    assert info.value is error and not getattr(error, "__notes__", None)


def test_constant_gradient_has_an_empty_pattern_and_args_are_passed() -> None:
    P = trace_pattern(lambda x, c: np.full(x.shape, c), np.ones(4), args=(3.0,))
    assert P is not None and P.nnz == 0 and P.shape == (4, 4)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"mode": "both"}, ValueError, "mode"),
        ({"max_nonzeros": 0}, ValueError, "max_nonzeros"),
        ({"max_nonzeros": 2.5}, TypeError, "max_nonzeros"),
        ({"max_nonzeros": CAPACITIES[-1] + 1}, ValueError, "max_nonzeros"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        trace_pattern(rosen_der, np.ones(4), **kwargs)


@pytest.mark.parametrize(
    ("g", "error", "match"),
    [
        (lambda x: x[:-1], ValueError, "shape"),
        (lambda x: None, TypeError, "None"),
        (lambda x: np.array(["a"] * x.shape[0]), TypeError, "dtype"),
    ],
    ids=["shape", "none", "dtype"],
)
def test_bad_results(g: Callable[[Any], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        trace_pattern(g, np.ones(4))


def test_bad_points() -> None:
    with pytest.raises(ValueError, match="1-D"):
        trace_pattern(rosen_der, np.ones((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        trace_pattern(rosen_der, np.array([1.0, np.nan]))


def test_memory_refused_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    import hessprobe._validation as validation

    monkeypatch.setattr(validation, "available_memory", lambda: 10_000)
    with pytest.raises(MemoryError, match="n = 1000"):
        trace_pattern(rosen_der, np.ones(1000))


def test_scipy_special_flows_through() -> None:
    import scipy.special

    P = trace_pattern(lambda x: scipy.special.expit(x * np.roll(x, 1)), np.ones(6))
    assert P is not None
    expected = np.eye(6, dtype=bool) | np.eye(6, k=1, dtype=bool) | np.eye(6, k=-1, dtype=bool)
    expected[0, 5] = expected[5, 0] = True
    np.testing.assert_array_equal(P.toarray(), expected)
