"""Fixtures for the hessprobe test suite (reused by later issues).

* ``hp``: the hessprobe module.
* ``builtin_case`` / ``separable_case`` / ``dense_case``: parametrized over the built-ins
  (``ids`` = function name); ``case.make(n, rng)`` returns ``(f, x, ref)``, see
  :mod:`references`.
* ``rng``: a Generator with a fixed seed.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from references import (
    BUILTIN_NAMES,
    DENSE_NAMES,
    SEPARABLE_NAMES,
    BuiltinCase,
)


@pytest.fixture(scope="session")
def hp() -> Any:
    """The hessprobe module."""
    import hessprobe

    return hessprobe


@pytest.fixture(params=[BuiltinCase(nm) for nm in BUILTIN_NAMES], ids=list(BUILTIN_NAMES))
def builtin_case(request: pytest.FixtureRequest) -> BuiltinCase:
    """Each built-in function in turn."""
    return request.param


@pytest.fixture(params=[BuiltinCase(nm) for nm in SEPARABLE_NAMES], ids=list(SEPARABLE_NAMES))
def separable_case(request: pytest.FixtureRequest) -> BuiltinCase:
    """Built-ins with a diagonal Hessian."""
    return request.param


@pytest.fixture(params=[BuiltinCase(nm) for nm in DENSE_NAMES], ids=list(DENSE_NAMES))
def dense_case(request: pytest.FixtureRequest) -> BuiltinCase:
    """Built-ins with off-diagonal Hessian entries."""
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh Generator with a fixed seed (tests that need several use their own seeds)."""
    return np.random.default_rng(20261122)


# --------------------------------------------------------------------------------------
# Native gradients (scipy.LowLevelCallable), built at test time
# --------------------------------------------------------------------------------------

NATIVE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "native")
LLC_SIGNATURE = "int (npy_intp, double *, double *, void *)"


class NativeRosen:
    """ctypes handles on tests/native/rosen_grad.c and LowLevelCallable factories."""

    def __init__(self, lib: Any) -> None:
        import ctypes

        self._ctypes = ctypes
        self.lib = lib
        self.funcs = {}
        for name in (
            "rosen_grad",
            "rosen_grad_scaled",
            "rosen_grad_fail",
            "rosen_grad_fail_after",
            "rosen_grad_nowrite",
            "rosen_grad_handshake",
        ):
            fn = getattr(lib, name)
            fn.restype = ctypes.c_int
            fn.argtypes = [
                ctypes.c_ssize_t,
                ctypes.POINTER(ctypes.c_double),
                ctypes.POINTER(ctypes.c_double),
                ctypes.c_void_p,
            ]
            self.funcs[name] = fn

    def callable(
        self, name: str = "rosen_grad", user_data: Any = None, signature: str = LLC_SIGNATURE
    ) -> Any:
        import scipy

        return scipy.LowLevelCallable(self.funcs[name], user_data=user_data, signature=signature)

    def handshake(self) -> Any:
        """A zeroed ctypes mirror of ``handshake_t`` in tests/native/rosen_grad.c."""
        ctypes = self._ctypes

        class Handshake(ctypes.Structure):
            _fields_ = [  # noqa: RUF012 - the ctypes protocol
                ("entered", ctypes.c_int),
                ("go", ctypes.c_int),
                ("timed_out", ctypes.c_int),
            ]

        return Handshake()

    def void_p(self, cobj: Any) -> Any:
        """A ctypes void pointer to ``cobj`` (keep ``cobj`` alive while it is used)."""
        ctypes = self._ctypes
        return ctypes.cast(ctypes.pointer(cobj), ctypes.c_void_p)


def _find_c_compiler() -> str | None:
    import shutil

    for cc in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    return None


@pytest.fixture(scope="session")
def native(tmp_path_factory: pytest.TempPathFactory) -> NativeRosen:
    """tests/native/rosen_grad.c compiled into a shared library and loaded with ctypes."""
    import ctypes
    import subprocess

    cc = _find_c_compiler()
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH: cannot build native/rosen_grad.c")
    out = tmp_path_factory.mktemp("native") / "librosen_grad.so"
    # -ffp-contract=off: no fused multiply-add, so the C gradient is bitwise the NumPy one
    cmd = [
        cc,
        "-O2",
        "-shared",
        "-fPIC",
        "-ffp-contract=off",
        "-o",
        str(out),
        os.path.join(NATIVE_DIR, "rosen_grad.c"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"building native/rosen_grad.c failed ({' '.join(cmd)}): {proc.stderr[-2000:]}")
    return NativeRosen(ctypes.CDLL(str(out)))


def _cythonize(tmp_path_factory: pytest.TempPathFactory, name: str) -> Any:
    """tests/native/<name>.pyx cythonized and compiled in a temporary directory, imported."""
    import glob
    import importlib.util
    import shutil
    import subprocess

    pytest.importorskip("Cython")
    if _find_c_compiler() is None:
        pytest.skip(f"no C compiler (cc, gcc or clang) on PATH: cannot build native/{name}.pyx")
    work = tmp_path_factory.mktemp("cython")
    pyx = work / f"{name}.pyx"
    shutil.copy(os.path.join(NATIVE_DIR, f"{name}.pyx"), pyx)
    env = dict(os.environ)
    env["CFLAGS"] = (env.get("CFLAGS", "") + " -ffp-contract=off").strip()
    cmd = [sys.executable, "-m", "Cython.Build.Cythonize", "-i", "-q", str(pyx)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=work, env=env)
    built = glob.glob(str(work / f"{name}*.so")) + glob.glob(str(work / f"{name}*.pyd"))
    if proc.returncode != 0 or not built:
        pytest.skip(
            f"building tests/native/{name}.pyx with cythonize failed (environment: Cython, "
            f"setuptools, Python headers or compiler): {(proc.stdout + proc.stderr)[-2000:]}"
        )
    spec = importlib.util.spec_from_file_location(name, built[0])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cython_rosen(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """tests/native/cy_rosen.pyx cythonized and compiled in a temporary directory."""
    return _cythonize(tmp_path_factory, "cy_rosen")


@pytest.fixture(scope="session")
def cython_tangent(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """tests/native/cy_tangent.pyx (tangent callbacks) cythonized and compiled."""
    return _cythonize(tmp_path_factory, "cy_tangent")


# --------------------------------------------------------------------------------------
# Compiled functions (hp.compile_gradient): one cache directory per session
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Point hp.compile_gradient's cache at a per-session directory (unless the caller set one)."""
    if os.environ.get("HESSPROBE_CACHE_DIR"):
        yield None
        return
    os.environ["HESSPROBE_CACHE_DIR"] = str(tmp_path_factory.mktemp("compile-cache"))
    try:
        yield None
    finally:
        os.environ.pop("HESSPROBE_CACHE_DIR", None)
