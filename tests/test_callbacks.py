"""Issue 7: failing gradients at every public entry point that takes a source.

tests/test_hutchinson.py covers hp.hvp and hp.hutchinson_diag with raising callbacks,
bad return shapes and values, native failures and wrong signatures; this file runs one
table of failing gradients through all the other entry points too (hutchinson_trace,
hessp, HessianOperator.matvec / matmat, hessian, eigenvalues, spectral_density), adds
the failures that file does not try (wrong dtype, mutating the input), and checks that
each failure reaches the caller as documented in hp.Gradient's docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from references import rosen_grad_np, rosen_grad_rows

import hessprobe as hp

N = 12
X = np.random.default_rng(3).uniform(-1.5, 1.5, N)
V = np.random.default_rng(4).standard_normal(N)

# Every public entry point that takes a gradient source, called with threads=2 (or 1).
ENTRIES: dict[str, Callable[[Any, int], Any]] = {
    "hvp": lambda s, t: hp.hvp(s, X, V, threads=t),
    "hvp-block": lambda s, t: hp.hvp(s, X, np.ones((9, N)), threads=t),
    "hutchinson_diag": lambda s, t: hp.hutchinson_diag(s, X, hvps=24, threads=t, structure="none"),
    "hutchinson_trace": lambda s, t: hp.hutchinson_trace(
        s, X, hvps=24, threads=t, structure="none"
    ),
    "hessp": lambda s, t: hp.hessp(s, threads=t)(X, V),
    "HessianOperator.matvec": lambda s, t: hp.HessianOperator(s, X, threads=t).matvec(V),
    "HessianOperator.matmat": lambda s, t: hp.HessianOperator(s, X, threads=t) @ np.eye(N),
    "hessian": lambda s, t: hp.hessian(s, X, threads=t, sparsity="dense"),
    "eigenvalues": lambda s, t: hp.eigenvalues(s, X, k=2, threads=t),
    "spectral_density": lambda s, t: hp.spectral_density(s, X, vectors=9, steps=4, threads=t),
}
NAMES = list(ENTRIES)
THREADS = [1, 2]


class CallbackError(Exception):
    pass


def _raises(x: np.ndarray) -> np.ndarray:
    raise CallbackError("gradient failed at call 1 (custom message 314)")


def _raises_later() -> Callable[[np.ndarray], np.ndarray]:
    calls = [0]

    def grad(x: np.ndarray) -> np.ndarray:
        calls[0] += 1
        if calls[0] > 1:  # after a good call: the run is already under way
            raise KeyError("late failure 271")
        return rosen_grad_np(x)

    return grad


def _vectorized_raises(P: np.ndarray) -> np.ndarray:
    raise ZeroDivisionError("vectorized failure 161")


def _writes_input(x: np.ndarray) -> np.ndarray:
    x[0] = 0.0  # the library passes a read-only array: NumPy's own ValueError
    return rosen_grad_np(x)


def _writes_input_rows(P: np.ndarray) -> np.ndarray:
    P *= 2.0
    return rosen_grad_rows(P)


# id: (source factory, exception type, message regex)
FAILURES: dict[str, tuple[Callable[[], Any], type[BaseException], str]] = {
    "raises": (
        lambda: _raises,
        CallbackError,
        r"^gradient failed at call 1 \(custom message 314\)$",
    ),
    "raises-later": (_raises_later, KeyError, r"late failure 271"),
    "vectorized-raises": (
        lambda: hp.Gradient(_vectorized_raises, vectorized=True),
        ZeroDivisionError,
        r"^vectorized failure 161$",
    ),
    "returns-None": (lambda: lambda x: None, TypeError, r"returned None.*expected an array"),
    "returns-float32": (
        lambda: lambda x: rosen_grad_np(x).astype(np.float32),
        TypeError,
        r"dtype float32; expected float64",
    ),
    "returns-int": (lambda: lambda x: np.ones(N, dtype=np.int64), TypeError, r"dtype int64"),
    "returns-object": (lambda: lambda x: np.ones(N, dtype=object), TypeError, r"dtype object"),
    "returns-list": (lambda: lambda x: [1.0] * (N - 1), ValueError, rf"shape \({N - 1},\)"),
    "returns-NaN": (
        lambda: lambda x: np.where(np.arange(N) == 5, np.nan, rosen_grad_np(x)),
        ValueError,
        r"(?i)nan|finite",
    ),
    "writes-input": (lambda: _writes_input, ValueError, r"read-only"),
    "vectorized-writes-input": (
        lambda: hp.Gradient(_writes_input_rows, vectorized=True),
        ValueError,
        r"read-only",
    ),
}
FAILURE_IDS = list(FAILURES)


@pytest.mark.parametrize("threads", THREADS, ids=[f"threads={t}" for t in THREADS])
@pytest.mark.parametrize("failure", FAILURE_IDS, ids=FAILURE_IDS)
@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_failing_gradient_reaches_the_caller(name: str, failure: str, threads: int) -> None:
    make, exc, pattern = FAILURES[failure]
    with pytest.raises(exc, match=pattern) as info:
        ENTRIES[name](make(), threads)
    assert type(info.value) is exc  # the same type, not a wrapper or a subclass


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_library_gives_right_answers_after_failures(name: str) -> None:
    # After a failure in one run (threads=2), the next run with a good gradient is
    # bitwise the one of a fresh serial run: nothing (stop flag, scratch) leaks over.
    good = ENTRIES[name](rosen_grad_np, 1)
    with pytest.raises(CallbackError):
        ENTRIES[name](_raises, 2)
    again = ENTRIES[name](rosen_grad_np, 2)
    for a, b in zip(_arrays(again), _arrays(good)):
        assert_array_equal(a, b)


def _arrays(result: Any) -> list[Any]:
    if isinstance(result, tuple):
        return [np.asarray(r) for r in result]
    if hasattr(result, "density"):
        return [result.density, result.nodes, result.weights]
    if hasattr(result, "value"):
        return [np.asarray(result.value), np.asarray(result.stderr)]
    return [np.asarray(result)]


def test_point_array_passed_to_the_gradient_is_read_only_and_fresh_per_call() -> None:
    # Documented in hp.Gradient: the arrays passed in are read-only; a reference kept by
    # the user is not overwritten by later calls.
    seen: list[np.ndarray] = []

    def grad(x: np.ndarray) -> np.ndarray:
        assert not x.flags.writeable
        assert x.dtype == np.float64 and x.flags.c_contiguous
        seen.append(x)
        return rosen_grad_np(x)

    hp.hvp(grad, X, np.ones((3, N)), threads=1)
    copies = [s.copy() for s in seen]
    hp.hvp(grad, X + 1.0, np.ones((3, N)), threads=1)
    for kept, copy in zip(seen, copies):
        assert_array_equal(kept, copy)  # the kept arrays were not reused
    # central differences x +- h v: the points straddle X
    assert_array_equal(0.5 * (seen[0] + seen[1]), X)


# --------------------------------------------------------------------------------------
# Native gradients (scipy.LowLevelCallable)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", THREADS, ids=[f"threads={t}" for t in THREADS])
@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_native_error_code_at_every_entry_point(native: Any, name: str, threads: int) -> None:
    # rosen_grad_fail returns 0 (failure) on every call
    with pytest.raises(RuntimeError, match=r"(?i)native gradient.*returned 0|fail"):
        ENTRIES[name](native.callable("rosen_grad_fail"), threads)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_native_wrong_signature_at_every_entry_point(native: Any, name: str) -> None:
    llc = native.callable(signature="double (double *, npy_intp)")
    with pytest.raises(ValueError, match=r"Invalid scipy.LowLevelCallable signature.*npy_intp"):
        ENTRIES[name](llc, 2)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_native_equals_python_gradient_at_every_entry_point(native: Any, name: str) -> None:
    # tests/native/rosen_grad.c computes rosen_grad_np's arithmetic in the same order
    # without FMA (-ffp-contract=off): bitwise the same gradients, so bitwise the same
    # results through every entry point.
    got = _arrays(ENTRIES[name](native.callable(), 2))
    want = _arrays(ENTRIES[name](rosen_grad_np, 1))
    for a, b in zip(got, want):
        assert_array_equal(a, b)
