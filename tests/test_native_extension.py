"""Issue 13: the example package examples/native_extension, built against
hessprobe.get_include() the way a user builds it, exports a C++ function through a
PyCapsule (no pybind11) that every entry point takes, with exact derivatives.

One build per session (setuptools build_ext --inplace in a temporary copy, ~5 s).
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from compiled_cases import HAS_COMPILER, compiled, wood_grad, wood_hvp
from numpy.testing import assert_allclose, assert_array_equal
from references import assert_same_arithmetic

import hessprobe as hp

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "native_extension"

pytestmark = [
    pytest.mark.build,
    pytest.mark.skipif(not HAS_COMPILER, reason="no C++ compiler on PATH"),
]


@pytest.fixture(scope="module")
def wood(tmp_path_factory):
    pytest.importorskip("setuptools")
    work = tmp_path_factory.mktemp("native_extension") / "pkg"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("build", "*.so"))
    proc = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module("hessprobe_wood")
    finally:
        sys.path.remove(str(work))


def test_the_extension_gives_exact_derivatives(wood):
    f = wood.chained_wood()
    assert isinstance(f, hp.CompiledFunction)
    assert (f.name, f.bandwidth, f.min_size) == ("chained_wood", 2, 4)
    x = np.random.default_rng(0).uniform(-1, 1, 2000)
    V = np.random.default_rng(1).standard_normal((5, 2000))
    want = np.stack([wood_hvp(x, v) for v in V])
    assert_allclose(hp.hvp(f, x, V), want, rtol=1e-13, atol=1e-13 * np.abs(want).max())
    assert_allclose(f.grad(x), wood_grad(x), rtol=1e-13, atol=1e-13 * np.abs(wood_grad(x)).max())


def test_the_capsule_is_a_source_and_matches_compile_gradient(wood):
    # the extension is compiled with the baseline flags (setup.py): compile_gradient's
    # bits in the baseline build, its values to rounding in the FMA builds
    capsule = wood._capsule()
    assert type(capsule).__name__ == "PyCapsule"
    x = np.random.default_rng(2).uniform(-1, 1, 1000)
    ours = compiled("wood")
    a1 = hp.hutchinson_diag(capsule, x, hvps=32, seed=5, threads=1)
    a2 = hp.hutchinson_diag(capsule, x, hvps=32, seed=5, threads=2)
    assert_array_equal(a1.value, a2.value)
    b = hp.hutchinson_diag(ours, x, hvps=32, seed=5, threads=1)
    assert_same_arithmetic(a1.value, b.value)
    assert_same_arithmetic(hp.hessian(capsule, x[:12]), hp.hessian(ours, x[:12]))


def test_an_error_inside_the_extension_reaches_python(wood):
    with pytest.raises(ValueError, match="even n"):
        hp.hvp(wood.chained_wood(), np.ones(7), np.ones(7))
