"""Issue 7: threads -- concurrent use from Python threads, and fork safety.

Results never depend on the number of threads (a fixed-order reduction), so every
threaded or forked run is compared bitwise with a serial run in this process.  Timeouts
are hang guards only: a deadlock fails the test instead of stopping the suite.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from references import rosen_grad_np, rosen_grad_rows

import hessprobe as hp

HANG_GUARD = 60.0  # seconds; each run below takes well under one
F = hp.functions.rosenbrock()


def _point(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2.0, 2.0, n)


def _run_concurrently(work: Callable[[int], Any], count: int = 4) -> list[Any]:
    """Run work(0..count-1) on `count` Python threads started together; return results."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=HANG_GUARD)
            results[i] = work(i)
        except BaseException as e:  # re-raised in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=HANG_GUARD)
    assert not any(t.is_alive() for t in threads), "deadlock: a thread did not finish"
    if errors:
        raise errors[0]
    return results


SOURCES: dict[str, Any] = {
    "builtin": F,
    "callable": rosen_grad_np,
    "vectorized": hp.Gradient(rosen_grad_rows, vectorized=True),
}


@pytest.mark.parametrize("inner", [1, 2], ids=["threads=1", "threads=2"])
@pytest.mark.parametrize("kind", list(SOURCES), ids=list(SOURCES))
def test_same_source_from_four_python_threads(kind: str, inner: int) -> None:
    # One source object shared by 4 Python threads, each also running a team of `inner`
    # OpenMP threads: every result is bitwise its serial counterpart.  (A shared
    # scratch buffer or a point array handed to the wrong call would change them.)
    src = SOURCES[kind]
    n = 300
    x = _point(n, 11)
    V = np.random.default_rng(12).standard_normal((4, 9, n))

    def work(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        diag = hp.hutchinson_diag(src, x, hvps=40, seed=i, threads=inner)
        trace = hp.hutchinson_trace(src, x, hvps=40, seed=i, threads=inner)
        return hp.hvp(src, x, V[i], threads=inner), diag.value, diag.stderr, trace.value

    serial = [work(i) for i in range(4)]
    for _ in range(2):
        for got, want in zip(_run_concurrently(work), serial):
            for a, b in zip(got, want):
                assert_array_equal(a, b)


def test_native_source_from_four_python_threads(native: Any) -> None:
    llc = native.callable()
    x = _point(500, 13)

    def work(i: int) -> np.ndarray:
        return hp.hutchinson_diag(llc, x, hvps=48, seed=i, threads=2).value

    serial = [work(i) for i in range(4)]
    for got, want in zip(_run_concurrently(work), serial):
        assert_array_equal(got, want)


def test_operator_and_hessp_from_four_python_threads() -> None:
    x = _point(60, 14)
    op = hp.HessianOperator(rosen_grad_np, x, threads=2)
    hessp = hp.hessp(F, threads=2)
    V = np.random.default_rng(15).standard_normal((4, 60, 5))

    def work(i: int) -> tuple[np.ndarray, np.ndarray]:
        return op.matmat(V[i]), hessp(x, V[i][:, 0])

    serial = [work(i) for i in range(4)]
    for got, want in zip(_run_concurrently(work), serial):
        assert_array_equal(got[0], want[0])
        assert_array_equal(got[1], want[1])


def test_callback_that_waits_for_another_threads_library_call_does_not_deadlock() -> None:
    # While a team of 2 OpenMP threads runs a Python gradient, the gradient's first call
    # starts another Python thread that runs its own threaded probing of a built-in and
    # of a Python gradient, and waits for it.  That needs the GIL to be released while
    # the first team waits (re-acquired per call only) and no library-wide lock.
    x = _point(40, 16)
    inner: list[np.ndarray] = []
    started = threading.Lock()

    def other() -> None:
        inner.append(hp.hutchinson_diag(F, x, hvps=32, seed=3, threads=2).value)
        inner.append(hp.hutchinson_diag(rosen_grad_np, x, hvps=8, seed=3, threads=2).value)

    def grad(y: np.ndarray) -> np.ndarray:
        if started.acquire(blocking=False):  # first call only
            t = threading.Thread(target=other, daemon=True)
            t.start()
            t.join(timeout=HANG_GUARD)
            assert not t.is_alive(), "the nested library call did not finish"
        return rosen_grad_np(y)

    (got,) = _run_concurrently(
        lambda _: hp.hutchinson_diag(grad, x, hvps=32, seed=2, threads=2).value, count=1
    )
    assert_array_equal(got, hp.hutchinson_diag(rosen_grad_np, x, hvps=32, seed=2).value)
    assert_array_equal(inner[0], hp.hutchinson_diag(F, x, hvps=32, seed=3, threads=1).value)
    assert_array_equal(inner[1], hp.hutchinson_diag(rosen_grad_np, x, hvps=8, seed=3).value)


# --------------------------------------------------------------------------------------
# Fork safety
# --------------------------------------------------------------------------------------

FORK_X = _point(5000, 17)


def _child_runs(_: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """In the forked child: threaded runs (threads=2 asks for a team)."""
    return (
        int(hp.info()["threads"]),
        hp.hutchinson_diag(F, FORK_X, hvps=64, seed=5, threads=2).value,
        hp.hutchinson_diag(rosen_grad_np, FORK_X, hvps=16, seed=5, threads=2).value,
        hp.hvp(F, FORK_X, np.ones((16, FORK_X.size)), threads=2),
    )


@pytest.mark.skipif(
    sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(),
    reason="needs the fork start method",
)
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_threaded_run_then_fork_does_not_hang() -> None:
    # Without the core's fork check this hangs: the parent's parallel region leaves
    # libgomp's pool behind, and the child's first parallel region waits for workers
    # that fork did not copy (measured: the child blocks forever).
    if not hp.info()["openmp"]:
        pytest.skip("a serial build has no thread pool to lose")
    parent = (
        hp.hutchinson_diag(F, FORK_X, hvps=64, seed=5, threads=2).value,
        hp.hutchinson_diag(rosen_grad_np, FORK_X, hvps=16, seed=5, threads=2).value,
        hp.hvp(F, FORK_X, np.ones((16, FORK_X.size)), threads=2),
    )
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(1)
    try:
        try:
            child = pool.apply_async(_child_runs, (0,)).get(timeout=HANG_GUARD)
        except multiprocessing.TimeoutError:
            pytest.fail(f"the forked child hung for {HANG_GUARD} s in a threaded run")
    finally:
        pool.terminate()
        pool.join()
    threads, *results = child
    assert threads == 1  # the child knows it must run serially
    for got, want in zip(results, parent):
        assert_array_equal(got, want)
    # and the parent still runs its teams (same answer)
    assert_array_equal(hp.hutchinson_diag(F, FORK_X, hvps=64, seed=5, threads=2).value, parent[0])
