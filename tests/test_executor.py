"""executor= (hessprobe.distributed) on the standard pools: bitwise the local run, failures.

The Dask cluster's tests are in test_dask.py (they skip without dask[distributed]).
What must hold, for a process pool and a thread pool:

* every probing estimator (diagonal, trace, with and without ``tol=``), the column and
  colour recoveries and HessianOperator blocks give bitwise the local result, with the
  same probe count, for a built-in (both core schedules) and a Python gradient;
* progress hears of the probes done, in block order, ending at the probes used;
* a worker's exception reaches the caller with its type and message; a lost worker
  fails the call (BrokenProcessPool), never a smaller sample; an interrupt cancels the
  outstanding tasks;
* a source that cannot be pickled meets a process pool with a TypeError naming
  ``executor=`` and the source; a LowLevelCallable travels as a NativeFactory.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np
import pytest
import scipy
from scipy.optimize import rosen_der

import hessprobe as hp

N = 120
PROBES = 99  # 13 blocks, the last one partial


@pytest.fixture(scope="module")
def process_pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(scope="module")
def thread_pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(params=["process", "thread"])
def pool(request: pytest.FixtureRequest) -> Executor:
    fixture = "process_pool" if request.param == "process" else "thread_pool"
    executor: Executor = request.getfixturevalue(fixture)
    return executor


SOURCES: dict[str, Callable[[], Any]] = {
    "rosenbrock": hp.functions.rosenbrock,  # the chunked schedule
    "ackley": hp.functions.ackley,  # the blocked schedule
    "rosen_der": lambda: rosen_der,  # a Python gradient (finite differences)
    "rosen_der-dual": lambda: hp.Gradient(rosen_der, scheme="dual"),  # dual numbers
}


def point() -> np.ndarray:
    return np.linspace(-1.2, 1.1, N)


def same(a: Any, b: Any) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def failing_gradient(x: np.ndarray) -> np.ndarray:
    if x[0] > 100.0:
        raise ArithmeticError(f"no gradient at x[0] = {x[0]}")
    return rosen_der(x)


def dying_gradient(x: np.ndarray) -> np.ndarray:
    os._exit(3)  # the worker process dies mid-run


def make_native(path: str) -> Any:
    """A NativeFactory's make(): the LowLevelCallable of tests/native/rosen_grad.c."""
    fn = ctypes.CDLL(path).rosen_grad
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    return scipy.LowLevelCallable(fn, signature="int (npy_intp, double *, double *, void *)")


@pytest.mark.parametrize("name", list(SOURCES))
@pytest.mark.parametrize("tol", [None, 0.05], ids=["all-probes", "tol"])
@pytest.mark.parametrize("estimator", [hp.hutchinson_diag, hp.hutchinson_trace])
def test_probing_is_bitwise_the_local_run(
    pool: Executor, name: str, tol: float | None, estimator: Any
) -> None:
    src, x = SOURCES[name](), point()
    local = estimator(src, x, PROBES, seed=11, tol=tol, structure="none")
    remote = estimator(src, x, PROBES, seed=11, tol=tol, executor=pool, structure="none")
    assert remote.probes == local.probes
    assert same(remote.value, local.value) and same(remote.stderr, local.stderr)
    if tol is not None:  # stopped at the same block, before the budget
        assert local.probes < PROBES


@pytest.mark.parametrize("name", list(SOURCES))
def test_hvp_blocks_are_bitwise_the_local_ones(process_pool: Executor, name: str) -> None:
    src, x = SOURCES[name](), point()[:40]
    V = np.random.default_rng(1).normal(size=(40, 21))
    calls: list[Callable[..., Any]] = [
        lambda **k: hp.hessian(src, x, block=16, **k),
        lambda **k: hp.hessian(src, x, bandwidth=1, **k).toarray(),
        lambda **k: hp.hessian_diag(src, x, bandwidth=2, **k),
        lambda **k: hp.HessianOperator(src, x, **k).matmat(V),
    ]
    for call in calls:
        assert same(call(executor=process_pool), call())


def test_progress_reports_blocks_in_order(thread_pool: Executor) -> None:
    calls: list[tuple[int, int]] = []
    hp.hutchinson_diag(
        hp.functions.rosenbrock(),
        point(),
        PROBES,
        executor=thread_pool,
        progress=lambda *a: calls.append(a),
        structure="none",
    )
    assert calls == [(8 * b, PROBES) for b in range(1, 13)] + [(PROBES, PROBES)]


def test_builtins_pickle_as_what_builds_them(builtin_case: Any, rng: np.random.Generator) -> None:
    f, x, _ = builtin_case.make(20, rng)
    again = pickle.loads(pickle.dumps(f))
    assert repr(again) == repr(f)
    assert same(
        hp.hutchinson_diag(again, x, 16, structure="none").value,
        hp.hutchinson_diag(f, x, 16, structure="none").value,
    )


def test_a_workers_exception_reaches_the_caller(pool: Executor) -> None:
    x = point()
    x[0] = 101.0
    with pytest.raises(ArithmeticError, match=r"no gradient at x\[0\] = 10"):
        hp.hutchinson_diag(failing_gradient, x, PROBES, executor=pool, structure="none")


def test_a_lost_worker_fails_the_call() -> None:
    with ProcessPoolExecutor(2) as pool, pytest.raises(BrokenProcessPool):
        hp.hutchinson_trace(dying_gradient, point(), PROBES, executor=pool, structure="none")


class Recording(ThreadPoolExecutor):
    """A one-thread pool that keeps the futures it hands out; every task after the first
    waits for ``gate``, so that tasks are still outstanding when the first one reports."""

    def __init__(self) -> None:
        super().__init__(1)
        self.futures: list[Future[Any]] = []
        self.gate = threading.Event()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        def gated(*a: Any, **k: Any) -> Any:
            self.gate.wait()
            return fn(*a, **k)

        future = super().submit(gated if self.futures else fn, *args, **kwargs)
        self.futures.append(future)
        return future


def test_an_interrupt_cancels_the_outstanding_tasks() -> None:
    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with Recording() as pool:
        try:
            with pytest.raises(KeyboardInterrupt):
                hp.hutchinson_trace(
                    rosen_der, point(), 800, executor=pool, progress=interrupt, structure="none"
                )
            # no task is left waiting to run: those not started were cancelled
            waiting = [f for f in pool.futures if not (f.running() or f.done())]
            assert len(pool.futures) > 2 and not waiting
            assert any(f.cancelled() for f in pool.futures)
        finally:
            pool.gate.set()  # the task running (held at the gate) may finish


def test_a_source_that_does_not_pickle_is_refused_up_front(process_pool: Executor) -> None:
    with pytest.raises(TypeError, match=r"executor=: the source .*lambda.* cannot be pickled"):
        hp.hutchinson_diag(
            lambda z: rosen_der(z), point(), PROBES, executor=process_pool, structure="none"
        )


def test_a_lambda_runs_on_a_thread_pool(thread_pool: Executor) -> None:
    x = point()
    est = hp.hutchinson_diag(
        lambda z: rosen_der(z), x, PROBES, executor=thread_pool, structure="none"
    )
    assert same(est.value, hp.hutchinson_diag(rosen_der, x, PROBES, structure="none").value)


def test_a_low_level_callable_travels_as_a_native_factory(
    native: Any, process_pool: Executor
) -> None:
    x = point()
    with pytest.raises(TypeError, match=r"executor=.*LowLevelCallable.*NativeFactory"):
        hp.hutchinson_diag(native.callable(), x, PROBES, executor=process_pool, structure="none")
    factory = hp.NativeFactory(make_native, native.lib._name)
    local = hp.hutchinson_diag(native.callable(), x, PROBES, seed=2, structure="none")
    for est in (
        hp.hutchinson_diag(factory, x, PROBES, seed=2, structure="none"),
        hp.hutchinson_diag(factory, x, PROBES, seed=2, executor=process_pool, structure="none"),
    ):
        assert same(est.value, local.value) and same(est.stderr, local.stderr)


def test_executor_must_be_an_executor() -> None:
    with pytest.raises(TypeError, match=r"executor must be a concurrent\.futures\.Executor"):
        hp.hutchinson_trace(rosen_der, point(), 8, executor="localhost:8786", structure="none")


@pytest.mark.parametrize(
    ("estimate", "method"),
    [
        (hp.trace, "hutchinson"),
        (hp.trace, "xtrace"),
        (hp.trace, "hutch++"),
        (hp.diagonal, "xdiag"),
        (hp.diagonal, "diag++"),
    ],
)
def test_every_method_of_trace_and_diagonal_takes_an_executor(
    thread_pool: Executor, estimate: Any, method: str
) -> None:
    f, x = hp.functions.ackley(), point()
    local = estimate(f, x, 24, method=method, seed=5)
    remote = estimate(f, x, 24, method=method, seed=5, executor=thread_pool)
    assert remote.hvps == local.hvps
    assert same(remote.value, local.value) and same(remote.stderr, local.stderr)
