"""The per-instruction-set builds of the core give bitwise the same numbers.

The core is compiled as ``_core_baseline`` and, on x86-64, ``_core_avx2``; the package
imports the best one the CPU runs.  Both are compiled without FMA contraction and with
the same summation orders, so every result must be identical to the bit: the reference
here is the other build.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest
from references import BUILTIN_NAMES, make_case

baseline = importlib.import_module("hessprobe._core_baseline")
try:
    avx2 = importlib.import_module("hessprobe._core_avx2")
except ImportError:  # not an x86-64 build
    avx2 = None

needs_avx2 = pytest.mark.skipif(
    avx2 is None or not baseline.cpu_has_avx2(), reason="no AVX2 build or no AVX2 on this CPU"
)


def _core_object(module, f):
    """The same built-in, constructed from the given build's module."""
    return getattr(module, f._core_class)(*f._core_args)


@needs_avx2
@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_avx2_build_matches_baseline_bitwise(name: str) -> None:
    rng = np.random.default_rng(7)
    f, x, _ = make_case(name, 1500, rng)
    a, b = _core_object(avx2, f), _core_object(baseline, f)
    V = rng.standard_normal((11, x.size))  # passes of 8, 4 and 1 lanes... 11 = 8 + 3 (4 lanes)
    assert np.array_equal(a.gradient(x, 2), b.gradient(x, 1))
    assert np.array_equal(a.hvp(x, V, 2), b.hvp(x, V, 1))
    assert np.array_equal(a.hessian_diag(x, 2), b.hessian_diag(x, 1))
    pa, pb = a.probe(x, 21, 3, 2, True), b.probe(x, 21, 3, 1, True)
    for got, want in zip(pa, pb):
        assert np.array_equal(got, want)
    # A run to a target error stops at the same block in both builds (the check uses
    # the same arithmetic), with the same numbers.
    for diagonal in (False, True):
        ta, tb = a.probe(x, 400, 3, 2, diagonal, 0.05), b.probe(x, 400, 3, 1, diagonal, 0.05)
        assert ta[4].size == tb[4].size
        for got, want in zip(ta, tb):
            assert got is None if want is None else np.array_equal(got, want)


def _simd_in_subprocess(value: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HESSPROBE_SIMD=value)
    code = "import hessprobe; print(hessprobe.info()['simd'])"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_hessprobe_simd_baseline_forces_the_baseline_build() -> None:
    run = _simd_in_subprocess("baseline")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "baseline"


def test_hessprobe_simd_rejects_an_unknown_value() -> None:
    run = _simd_in_subprocess("sse9")
    assert run.returncode != 0
    assert "HESSPROBE_SIMD" in run.stderr
