"""Issue 7: 10^4 repeated calls leave memory flat.

Each case runs CALLS calls of one entry point and measures, over the second half only
(the first half warms up caches: the per-thread point arrays of a Python gradient,
NumPy's small-array cache, pymalloc arenas, libgomp's pool), the growth of

* the Python heap, by tracemalloc (every Python object and NumPy buffer allocated
  through Python's allocators), and
* the resident set size from /proc/self/statm (native allocations too: the C++ core's
  scratch, pybind11's arrays).

Bounds.  The smallest object a leak can lose per call is 16 bytes (a CPython object
header) on the Python side and, on the native side, one of the core's scratch vectors
of n = 200 doubles (1600 bytes).  Over HALF = 5000 calls those leaks are 80 kB and
8 MB: the bounds (64 kB and 4 MB) catch them (``test_the_measurement_sees_a_leak``
checks the harness on a deliberate leak), and are far above the measured growth of
the cases here (tracemalloc: 120 to 244 bytes in all; RSS: 0 or 4096 bytes, one page,
after malloc_trim).
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from references import rosen_grad_np, rosen_grad_rows

import hessprobe as hp

CALLS = 10_000
HALF = CALLS // 2
N = 200
PY_BOUND = 64 * 1024
RSS_BOUND = 4 * 1024 * 1024

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RSS is read from /proc/self/statm"
)

X = np.random.default_rng(1).uniform(-1.5, 1.5, N)
V = np.random.default_rng(2).standard_normal(N)
F = hp.functions.rosenbrock()
VECTORIZED = hp.Gradient(rosen_grad_rows, vectorized=True)


def _malloc_trim() -> None:
    # Give the heap's free memory back to the OS first (glibc), so that a leak cannot hide
    # in memory freed by earlier tests: the RSS then grows with every leaked page.
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _rss() -> int:
    _malloc_trim()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


CASES: dict[str, Callable[[Any], Callable[[], Any]]] = {
    "hvp-builtin": lambda _: lambda: hp.hvp(F, X, V, threads=1),
    "hvp-callable": lambda _: lambda: hp.hvp(rosen_grad_np, X, V, threads=1),
    "hvp-native": lambda native: lambda: hp.hvp(native.callable(), X, V, threads=1),
    "hutchinson_diag-builtin": lambda _: lambda: hp.hutchinson_diag(F, X, hvps=8, threads=1),
    # hvps=2: 4 Python calls a run (central differences) keep 10^4 runs fast
    "hutchinson_diag-callable": lambda _: (
        lambda: hp.hutchinson_diag(rosen_grad_np, X, hvps=2, threads=1)
    ),
    "hutchinson_diag-vectorized": lambda _: (
        lambda: hp.hutchinson_diag(VECTORIZED, X, hvps=8, threads=1)
    ),
    "hutchinson_diag-native": lambda native: (
        lambda: hp.hutchinson_diag(native.callable(), X, hvps=8, threads=1)
    ),
    "callback-raises": lambda _: _raising_call,
}


def _raising_call() -> None:
    # A failing run must free its scratch and the exception's traceback too.
    def grad(x: np.ndarray) -> np.ndarray:
        raise KeyError("boom")

    try:
        hp.hutchinson_diag(grad, X, hvps=8, threads=1)
    except KeyError:
        pass


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_repeated_calls_leave_memory_flat(case: str, request: pytest.FixtureRequest) -> None:
    native = request.getfixturevalue("native") if "native" in case else None
    call = CASES[case](native)
    tracemalloc.start()
    try:
        for _ in range(HALF):
            call()
        gc.collect()
        py0, rss0 = tracemalloc.get_traced_memory()[0], _rss()
        for _ in range(HALF):
            call()
        gc.collect()
        py1, rss1 = tracemalloc.get_traced_memory()[0], _rss()
    finally:
        tracemalloc.stop()
    assert py1 - py0 < PY_BOUND, f"Python heap grew by {py1 - py0} bytes over {HALF} calls"
    assert rss1 - rss0 < RSS_BOUND, f"RSS grew by {rss1 - rss0} bytes over {HALF} calls"


def test_the_measurement_sees_a_leak() -> None:
    # The same harness on a deliberate leak of one n-vector per call fails both bounds:
    # the bounds are not too loose to see what they are meant to see.
    kept: list[np.ndarray] = []

    def leaky() -> None:
        kept.append(hp.hvp(F, X, V, threads=1))

    tracemalloc.start()
    try:
        for _ in range(HALF // 5):
            leaky()
        py0, rss0 = tracemalloc.get_traced_memory()[0], _rss()
        for _ in range(HALF):
            leaky()
        py1, rss1 = tracemalloc.get_traced_memory()[0], _rss()
    finally:
        tracemalloc.stop()
    assert py1 - py0 >= PY_BOUND
    assert rss1 - rss0 >= RSS_BOUND
