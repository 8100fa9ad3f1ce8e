"""The per-instruction-set builds of the core: each exact, each bitwise reproducible.

The core is compiled as ``_core_baseline`` (no FMA contraction: the same bits on every
machine) and, on x86-64, ``_core_avx2`` and ``_core_avx512`` (FMA: ``a * b + c``
rounded once).  The package imports the widest build the CPU runs.  What is promised,
and tested here for every build this machine runs:

* each build is exact: HVPs, diagonals and gradients match the dense NumPy references
  to 1e-13 relative (rounding of a few operations, whatever the build);
* within a build, results are bitwise the same for threads 1 and 2 and from run to run;
* within a build, a pass of 8 lanes gives each direction the bits of a single HVP (the
  FMAs are spelled out, not left to how the compiler vectorized a loop);
* between builds, results differ by rounding only (compared at 1e-13 relative), not bits;
* ``HESSPROBE_SIMD`` picks a build, and refuses one it does not know or cannot run.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest
from references import BUILTIN_NAMES, make_case

from hessprobe import _core

RUNNABLE = _core.runnable_builds()
MODULES = {b: importlib.import_module(f"hessprobe._core_{b}") for b in RUNNABLE}


def _core_object(build: str, f):
    """The same built-in, constructed from the given build's module."""
    return getattr(MODULES[build], f._core_class)(*f._core_args)


def _relative(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-300))


@pytest.mark.parametrize("build", RUNNABLE)
@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_every_build_is_exact(build: str, name: str) -> None:
    rng = np.random.default_rng(5)
    f, x, ref = make_case(name, 60, rng)
    a = _core_object(build, f)
    V = rng.standard_normal((11, x.size))  # passes of 8 and 4 lanes
    H = ref.hessian(x)
    assert _relative(a.gradient(x, 1), ref.grad(x)) < 1e-13
    assert _relative(a.hvp(x, V, 2), V @ H) < 1e-13
    assert _relative(a.hessian_diag(x, 1), np.diag(H)) < 1e-13


@pytest.mark.parametrize("build", RUNNABLE)
@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_every_build_is_bitwise_reproducible(build: str, name: str) -> None:
    rng = np.random.default_rng(7)
    f, x, _ = make_case(name, 1500, rng)
    a, b = _core_object(build, f), _core_object(build, f)
    V = rng.standard_normal((11, x.size))
    assert np.array_equal(a.gradient(x, 2), b.gradient(x, 1))
    assert np.array_equal(a.hvp(x, V, 2), b.hvp(x, V, 1))
    assert np.array_equal(a.hessian_diag(x, 2), b.hessian_diag(x, 1))
    for diagonal in (False, True):
        pa, pb = a.probe(x, 21, 3, 2, diagonal), b.probe(x, 21, 3, 1, diagonal)
        for got, want in zip(pa, pb):
            assert got is None if want is None else np.array_equal(got, want)
        # a run to a target error stops at the same block on any thread count
        ta, tb = a.probe(x, 400, 3, 2, diagonal, 0.05), b.probe(x, 400, 3, 1, diagonal, 0.05)
        assert ta[4].size == tb[4].size
        for got, want in zip(ta, tb):
            assert got is None if want is None else np.array_equal(got, want)


@pytest.mark.skipif(len(RUNNABLE) < 2, reason="this machine runs one build only")
@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_builds_differ_by_rounding_only(name: str) -> None:
    rng = np.random.default_rng(9)
    f, x, _ = make_case(name, 1500, rng)
    V = rng.standard_normal((8, x.size))
    want = _core_object("baseline", f).hvp(x, V, 1)
    for build in RUNNABLE[1:]:
        assert _relative(_core_object(build, f).hvp(x, V, 1), want) < 1e-13


def _simd_in_subprocess(value: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HESSPROBE_SIMD=value)
    code = "import hessprobe; i = hessprobe.info(); print(i['simd'], i['flags'])"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("build", RUNNABLE)
def test_hessprobe_simd_picks_the_build(build: str) -> None:
    run = _simd_in_subprocess(build)
    assert run.returncode == 0, run.stderr
    simd, *flags = run.stdout.split()
    assert simd == build
    assert "-ffp-contract=off" in flags  # the compiler fuses nothing on its own
    assert ("-mfma" in flags) == (build != "baseline")


def test_auto_picks_the_widest_runnable_build() -> None:
    run = _simd_in_subprocess("auto")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[0] == RUNNABLE[-1]


def test_hessprobe_simd_rejects_an_unknown_value() -> None:
    run = _simd_in_subprocess("sse9")
    assert run.returncode != 0
    assert "HESSPROBE_SIMD must be auto or one of baseline, avx2, avx512" in run.stderr


@pytest.mark.skipif(set(RUNNABLE) == set(_core.BUILDS), reason="this machine runs every build")
def test_hessprobe_simd_refuses_a_build_it_cannot_run() -> None:
    missing = next(b for b in _core.BUILDS if b not in RUNNABLE)
    run = _simd_in_subprocess(missing)
    assert run.returncode != 0
    assert f"HESSPROBE_SIMD={missing}" in run.stderr


def test_cpu_runs_refuses_an_unknown_build() -> None:
    with pytest.raises(ValueError, match="simd must be"):
        _core.cpu_runs("sse9")


@pytest.mark.parametrize("build", RUNNABLE)
@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_lane_count_does_not_change_the_bits(build: str, name: str) -> None:
    rng = np.random.default_rng(11)
    f, x, _ = make_case(name, 700, rng)
    a = _core_object(build, f)
    V = rng.standard_normal((11, x.size))  # a pass of 8 lanes and one of 4
    block = a.hvp(x, V, 1)
    for k in range(len(V)):
        assert np.array_equal(block[k], a.hvp(x, V[k : k + 1], 1)[0])
