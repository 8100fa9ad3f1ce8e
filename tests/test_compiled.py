"""Issue 13: a user's C++ function through the public C++ API (hp.compile_gradient).

User functions that are not built-ins (tests/native/*.hpp: the chained Wood and extended
Powell functions, banded and stateless; a dense-coupled one with a state part,
f = sum x_i^4 + (sum x_i)^2) against NumPy analytic references; bitwise reproducibility
across thread counts; a user's copy of the built-in Rosenbrock bitwise equal to it; every
estimator and SciPy adapter; and bad C++ (syntax error, wrong signature, an exception
thrown inside) reaching Python as an exception with the compiler's or the function's
message.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from compiled_cases import CASES, HAS_COMPILER, REFERENCES, compiled, compiled_stencil, stencil_hvp
from numpy.testing import assert_allclose, assert_array_equal
from references import assert_same_arithmetic

import hessprobe as hp

pytestmark = pytest.mark.skipif(not HAS_COMPILER, reason="no C++ compiler on PATH")

NAMES = list(CASES)
SIZES = [8, 2400]  # one chunk; several chunks (512) and state parts (1000)
ROWS = [1, 3, 8, 11]  # lane counts 1, 4, 8, and 8 + 4
RTOL = 1e-13


def _point(name: str, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.2, 1.2, n)


def _close(got: np.ndarray, want: np.ndarray) -> None:
    scale = float(np.abs(want).max())
    assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_numpy(name, n):
    f, x = compiled(name), _point(name, n)
    _close(f.grad(x), REFERENCES[name][0](x))


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", NAMES)
def test_hvp_matches_numpy(name, n, rows):
    f, x = compiled(name), _point(name, n)
    V = np.random.default_rng(rows).standard_normal((rows, n))
    got = hp.hvp(f, x, V, threads=2)
    want = np.stack([REFERENCES[name][1](x, v) for v in V])
    _close(got, want)


@pytest.mark.parametrize("rows", [3, 8, 11])
@pytest.mark.parametrize("n", [13, 1031, 2050])  # one chunk; chunks and 4-coordinate groups cut
@pytest.mark.parametrize("width", [3, 11])  # inside a block's window of the band; beyond it
def test_block_hvp_of_a_band_inside_and_beyond_the_window(width, n, rows):
    f, x = compiled_stencil(width), _point("stencil", n)
    V = np.random.default_rng(n).standard_normal((rows, n))
    got = hp.hvp(f, x, V, threads=2)
    _close(got, np.stack([stencil_hvp(x, v, width) for v in V]))
    for k in range(rows):  # each lane has the bits of its single HVP
        assert_array_equal(got[k], hp.hvp(f, x, V[k]))


@pytest.mark.parametrize("name", NAMES)
def test_dense_hessian_and_diagonal_match_numpy(name):
    n = 16
    f, x = compiled(name), _point(name, n, seed=5)
    H = np.stack([REFERENCES[name][1](x, e) for e in np.eye(n)])
    _close(hp.hessian(f, x), H)
    _close(hp.hessian_diag(f, x), np.diag(H))
    assert f.bandwidth == REFERENCES[name][2]


@pytest.mark.parametrize("diagonal", [True, False], ids=["diag", "trace"])
@pytest.mark.parametrize("name", NAMES)
def test_hutchinson_is_bitwise_equal_across_thread_counts(name, diagonal):
    f, x = compiled(name), _point(name, 3000)
    run = hp.hutchinson_diag if diagonal else hp.hutchinson_trace
    one, two = (run(f, x, hvps=48, seed=7, threads=t) for t in (1, 2))
    assert_array_equal(np.asarray(one.value), np.asarray(two.value))
    assert_array_equal(np.asarray(one.stderr), np.asarray(two.stderr))


@pytest.mark.parametrize("name", NAMES)
def test_hutchinson_diag_is_unbiased(name):
    f, x = compiled(name), _point(name, 400)
    est = hp.hutchinson_diag(f, x, hvps=400, seed=1, structure="none")
    exact = hp.hessian_diag(f, x)
    z = (est.value - exact) / np.maximum(est.stderr, 1e-12)
    assert np.mean(np.abs(z) < 4) > 0.99


def test_a_copy_of_a_builtin_gives_its_results_bit_for_bit():
    mine, builtin = compiled("rosenbrock_copy"), hp.functions.rosenbrock()
    x = _point("rosen", 3001)
    V = np.random.default_rng(2).standard_normal((11, 3001))
    assert_array_equal(hp.hvp(mine, x, V), hp.hvp(builtin, x, V))
    assert_array_equal(mine.grad(x), builtin.grad(x))
    a = hp.hutchinson_diag(mine, x, hvps=64, seed=3, threads=2, structure="none")
    b = hp.hutchinson_diag(builtin, x, hvps=64, seed=3, threads=1, structure="none")
    assert_array_equal(a.value, b.value)
    assert_array_equal(a.stderr, b.stderr)


def test_a_target_error_stops_as_for_a_builtin():
    mine, builtin = compiled("rosenbrock_copy"), hp.functions.rosenbrock()
    x = _point("rosen", 600)
    a = hp.hutchinson_trace(mine, x, hvps=4000, tol=0.01, seed=4, structure="none")
    b = hp.hutchinson_trace(builtin, x, hvps=4000, tol=0.01, seed=4, structure="none")
    assert a.hvps == b.hvps < 4000
    assert a.value == b.value


N_ENTRY = 24
X_ENTRY = _point("entry", N_ENTRY, seed=9)
V_ENTRY = np.random.default_rng(10).standard_normal((3, N_ENTRY))

# Every public entry point that takes a source.
ENTRIES = {
    "hvp": lambda s: hp.hvp(s, X_ENTRY, V_ENTRY),
    "hessp": lambda s: hp.hessp(s)(X_ENTRY, V_ENTRY[0]),
    "HessianOperator.matmat": lambda s: hp.HessianOperator(s, X_ENTRY).matmat(V_ENTRY.T),
    "hessian": lambda s: hp.hessian(s, X_ENTRY),
    "hessian_diag": lambda s: hp.hessian_diag(s, X_ENTRY),
    "hessian[sparse]": lambda s: hp.hessian(s, X_ENTRY, bandwidth=3).toarray(),
    "hutchinson_diag": lambda s: hp.hutchinson_diag(s, X_ENTRY, 64, seed=3, structure="none").value,
    "hutchinson_trace": lambda s: (
        hp.hutchinson_trace(s, X_ENTRY, 64, seed=3, structure="none").value
    ),
    "xtrace": lambda s: hp.trace(s, X_ENTRY, 20, method="xtrace", seed=2, structure="none").value,
    "diag++": lambda s: (
        hp.diagonal(s, X_ENTRY, 21, method="diag++", seed=2, structure="none").value
    ),
    "sketching.hutchpp": lambda s: hp.sketching.hutchpp(s, X_ENTRY, 24, seed=1).value,
    "sketching.xdiag": lambda s: hp.sketching.xdiag(s, X_ENTRY, 24, seed=1).value,
    "eigenvalues": lambda s: hp.eigenvalues(s, X_ENTRY, k=3)[0],
    "spectral_density": lambda s: hp.spectral_density(s, X_ENTRY, vectors=2, steps=10).density,
    "AdaHessian.step": lambda s: hp.optim.AdaHessian(hvps=8).step(s, X_ENTRY),
}


class PowellByNumpy:
    """The same Powell function as an exact NumPy kind: the reference for every entry point."""

    def __hessprobe_source__(self):
        from hessprobe.kinds.base import Prepared, Source

        _, hvp_ref, _ = REFERENCES["powell"]
        grad_ref = REFERENCES["powell"][0]

        class Kind(Source):
            exact = True

            def at(self, x):
                return P(self, np.ascontiguousarray(x, dtype=np.float64))

        class P(Prepared):
            bandwidth = 3

            def hvp(self, V, threads):
                return np.stack([hvp_ref(self.point, v) for v in V])

            def probe(self, probes, seed, threads, diagonal, tol, progress=None):
                V = hp._core.rademacher(seed, 0, probes, self.n)
                S = V * self.hvp(V, threads)
                t, k = S.sum(axis=1), np.sqrt(probes)
                d, e = (S.mean(0), S.std(0, ddof=1) / k) if diagonal else (None, None)
                return d, e, float(t.mean()), float(t.std(ddof=1) / k), t

            def gradient(self, threads):
                return grad_ref(self.point)

        return Kind()


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_every_entry_point_takes_a_compiled_function(entry):
    got = np.asarray(ENTRIES[entry](compiled("powell")))
    want = np.asarray(ENTRIES[entry](PowellByNumpy()))
    scale = max(float(np.abs(want).max()), 1.0)
    assert_allclose(got, want, rtol=0, atol=1e-10 * scale)


def test_scipy_minimize_with_hessp():
    from scipy.optimize import minimize

    f = compiled("wood")
    x0 = np.full(8, -1.0)
    res = minimize(f.value, x0, jac=f.grad, hessp=hp.hessp(f), method="trust-krylov")
    assert res.success
    assert_allclose(res.x, np.ones(8), atol=1e-6)


def test_properties_and_value():
    f = compiled("quartic_sum")
    x = _point("q", 10)
    assert f.name == "quartic_plus_squared_sum"
    assert f.bandwidth is None and f.size is None and f.min_size == 1
    assert f.value(x) == pytest.approx(np.sum(x**4) + np.sum(x) ** 2, rel=1e-14)
    with pytest.raises(TypeError, match="no value"):
        compiled("powell").value(np.ones(4))
    assert os.path.dirname(str(f.library)) == os.environ["HESSPROBE_CACHE_DIR"]


def test_params_reach_the_constructor():
    source, struct = CASES["quartic_sum"]
    f = hp.compile_gradient(source, function=struct, params=[3.0])
    x = _point("q", 50)
    _close(f.hvp(x, np.ones(50)), 12 * x**2 + 2 * 3.0 * 50)


def test_a_second_compile_is_a_cache_hit(monkeypatch):
    source, struct = CASES["powell"]
    first = hp.compile_gradient(source, function=struct)
    monkeypatch.setenv("CXX", "/nonexistent/compiler")  # a compile now would fail
    # the compiler is part of the cache key: with another CXX it must compile, and fail
    with pytest.raises(hp.CompileError, match="could not run"):
        hp.compile_gradient(source, function=struct)
    monkeypatch.delenv("CXX")
    assert hp.compile_gradient(source, function=struct).library == first.library


# ---- failures -------------------------------------------------------------------------

BAD_SOURCES = {
    "syntax error": (
        "struct Broken : hessprobe::Stateless { int bandwidth() const { return 0 } };",
        "Broken",
        r"expected ';'",
    ),
    "wrong signature": (
        """struct WrongSig : hessprobe::Stateless {
               template <class T> void gradient(const double* x, double* g) const {}
           };""",
        "WrongSig",
        r"gradient",
    ),
    "no such struct": ("struct Here : hessprobe::Stateless {};", "NotHere", r"NotHere"),
}


@pytest.mark.parametrize("case", list(BAD_SOURCES))
def test_bad_cxx_raises_compile_error_with_the_compilers_message(case):
    source, struct, message = BAD_SOURCES[case]
    with pytest.raises(hp.CompileError, match=message) as info:
        hp.compile_gradient(source, function=struct)
    assert isinstance(info.value, RuntimeError)
    assert re.search(message, info.value.output)
    assert "<compile_gradient source>" in info.value.output  # lines of the user's snippet


THROWS = """
#include <stdexcept>
struct Throws : hessprobe::Stateless {
    int bandwidth() const { return 1; }
    template <class T, class In, class Out>
    void gradient(const In& x, const State&, Out& g, std::size_t b, std::size_t e,
                  std::size_t n) const {
        for (std::size_t i = b; i < e; ++i) {
            if (i == n / 2) throw std::runtime_error("user failure 4711 at the middle");
            g.set(i, x(i));
        }
    }
};
"""

THROW_ENTRIES = {
    "grad": lambda f, x: f.grad(x, threads=2),
    "hvp": lambda f, x: hp.hvp(f, x, np.ones((9, x.size)), threads=2),
    "hessian": lambda f, x: hp.hessian(f, x[:40]),
    "hessian_diag": lambda f, x: hp.hessian_diag(f, x),
    "hutchinson_diag": lambda f, x: hp.hutchinson_diag(f, x, hvps=32, threads=2, structure="none"),
    "hutchinson_trace[tol]": lambda f, x: hp.hutchinson_trace(
        f, x, hvps=64, tol=0.1, structure="none"
    ),
    "eigenvalues": lambda f, x: hp.eigenvalues(f, x, k=2),
}


@pytest.mark.parametrize("entry", list(THROW_ENTRIES))
def test_an_exception_inside_reaches_python_with_its_message(entry):
    f = hp.compile_gradient(THROWS, function="Throws")
    with pytest.raises(RuntimeError, match="user failure 4711") as info:
        THROW_ENTRIES[entry](f, np.ones(3000))
    assert "'compiled'" in str(info.value)  # names the function
    # and the process is fine: the next run works
    assert_array_equal(hp.hvp(compiled("powell"), np.ones(4), np.zeros(4)), np.zeros(4))


def test_an_invalid_argument_inside_is_a_value_error():
    with pytest.raises(ValueError, match="divisible by 4"):
        hp.hvp(compiled("powell"), np.ones(6), np.ones(6))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"function": None}, ValueError, "function"),
        ({"function": "not a name"}, ValueError, "function"),
        ({"function": "ExtendedPowell", "params": [[1.0]]}, ValueError, "params"),
        ({"function": "ExtendedPowell", "params": [np.nan]}, ValueError, "params"),
        ({"function": "ExtendedPowell", "params": [1.0]}, ValueError, "params"),
        ({"function": "ExtendedPowell", "extra_flags": [1]}, TypeError, "extra_flags"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, error, message):
    with pytest.raises(error, match=message):
        hp.compile_gradient(CASES["powell"][0], **kwargs)


def test_bad_points_are_refused():
    f = compiled("wood")
    with pytest.raises(ValueError, match="length >= 4"):
        hp.hvp(f, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="finite"):
        hp.hvp(f, np.full(8, np.nan), np.ones(8))
    with pytest.raises(ValueError, match="finite"):
        hp.hutchinson_diag(f, np.full(8, np.inf), hvps=8, structure="none")


def test_a_missing_compiler_is_a_compile_error(monkeypatch):
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    with pytest.raises(hp.CompileError, match="could not run the C\\+\\+ compiler"):
        hp.compile_gradient(CASES["wood"][0] + "\n// not cached\n", function="ChainedWood")


def test_a_wrong_capsule_is_refused():
    import ctypes

    make = ctypes.pythonapi.PyCapsule_New
    make.restype = ctypes.py_object
    make.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    cap = make(1, b"some.other.capsule", None)
    with pytest.raises(ValueError, match=r"some\.other\.capsule"):
        hp.hvp(cap, np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="PyCapsule"):
        hp.compiled_function(42)


def test_get_include_and_cmake_dir():
    inc = hp.get_include()
    for header in ("abi.h", "export.hpp", "capsule.hpp", "hvp.hpp", "probing.hpp"):
        assert os.path.isfile(os.path.join(inc, "hessprobe", header))
    assert os.path.isfile(os.path.join(hp.get_cmake_dir(), "hessprobeConfig.cmake"))


@pytest.mark.parametrize("n", [8, 2400])
@pytest.mark.parametrize("name", ["powell", "quartic_sum"])
def test_hvps_equal_the_numpy_dual_array_path(name, n):
    from compiled_cases import dual_hvp

    x = _point(name, n, seed=11)
    V = hp._core.rademacher(5, 0, 8, n)  # the first block of probes of seed 5
    got = hp.hvp(compiled(name), x, V, threads=1)
    assert_array_equal(hp.hvp(compiled(name), x, V, threads=2), got)
    assert_same_arithmetic(got, dual_hvp(name, x, V))
    # and the Hutchinson estimate of those probes is their samples' mean
    est = hp.hutchinson_diag(compiled(name), x, hvps=8, seed=5, structure="none")
    _close(est.value, np.mean(V * dual_hvp(name, x, V), axis=0))


BAD_ENTRIES = {
    "hvp": lambda f, x, v: hp.hvp(f, x, v),
    "hutchinson_diag": lambda f, x, v: hp.hutchinson_diag(f, x, hvps=8, structure="none"),
    "hessian": lambda f, x, v: hp.hessian(f, x),
    "hessian_diag": lambda f, x, v: hp.hessian_diag(f, x),
    "grad": lambda f, x, v: f.grad(x),
}


@pytest.mark.parametrize("entry", list(BAD_ENTRIES))
def test_bad_x_and_v_name_themselves(entry):
    from test_bad_input import V0, V_CASES, X_CASES

    f = compiled("rosenbrock_copy")
    for x, exc, pattern in X_CASES.values():
        with pytest.raises(exc, match=rf"(?=[\s\S]*\bx\b)(?=[\s\S]*({pattern}))"):
            BAD_ENTRIES[entry](f, x, V0)
    if entry == "hvp":
        x0 = np.linspace(-1.2, 1.3, V0.size)
        for v, exc, pattern in V_CASES.values():
            with pytest.raises(exc, match=rf"(?=[\s\S]*\bv\b)(?=[\s\S]*({pattern}))"):
                hp.hvp(f, x0, v)


def test_concurrent_compiles_of_one_source_are_safe():
    from concurrent.futures import ThreadPoolExecutor

    source = CASES["powell"][0] + "\n// concurrent compile test\n"
    with ThreadPoolExecutor(2) as pool:
        fs = list(pool.map(lambda _: hp.compile_gradient(source, function="ExtendedPowell"), "ab"))
    assert len({str(f.library) for f in fs}) == 1
    x = _point("c", 8)
    for f in fs:
        assert_array_equal(f.grad(x), fs[0].grad(x))
    leftovers = [p for p in os.listdir(os.environ["HESSPROBE_CACHE_DIR"]) if p.startswith("build-")]
    assert leftovers == []


def test_progress_reaches_the_callback_and_its_exception_stops_the_run():
    f, x = compiled("rosenbrock_copy"), _point("p", 3000)
    seen = []
    hp.hutchinson_diag(f, x, hvps=40, progress=lambda d, t: seen.append((d, t)), structure="none")
    assert seen and seen[-1] == (40, 40)

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop(f"stopped at {done}")

    with pytest.raises(Stop, match="stopped at"):
        hp.hutchinson_diag(f, x, hvps=4000, tol=1e-9, progress=stop, structure="none")


OTHER_ABI = """
extern "C" HESSPROBE_EXPORT_VISIBILITY const hessprobe_source_v1* hessprobe_create_source_v1(
    const double*, std::size_t, hessprobe_error*) {
    static hessprobe_source_v1 table{};
    table.abi_version = 99;
    table.struct_size = sizeof table;
    return &table;
}
"""


def test_a_table_of_another_abi_version_is_refused():
    with pytest.raises(ValueError, match="ABI version 99"):
        hp.compile_gradient(OTHER_ABI)


@pytest.mark.parametrize("name", ["quartic_sum", "powell"])
def test_adahessian_minimize_runs_on_a_compiled_function(name):
    f = compiled(name)
    res = hp.optim.AdaHessian(hvps=8, lr=0.1).minimize(f, np.full(8, 0.5), maxiter=50)
    assert np.isfinite(res.x).all()
    g0, g1 = (np.abs(f.grad(z)).max() for z in (np.full(8, 0.5), res.x))
    assert g1 < g0


def test_an_undefined_symbol_is_a_compile_error():
    source = """
    double undefined_helper(double);
    struct Undefined : hessprobe::Stateless {
        template <class T, class In, class Out>
        void gradient(const In& x, const State&, Out& g, std::size_t b, std::size_t e,
                      std::size_t) const {
            for (std::size_t i = b; i < e; ++i) g.set(i, undefined_helper(2.0) * x(i));
        }
    };"""
    with pytest.raises(hp.CompileError, match="undefined_helper"):
        hp.compile_gradient(source, function="Undefined")


@pytest.mark.parametrize("pool", ["threads", "processes"])
def test_executor_shares_are_bitwise_the_local_run(pool):
    import pickle
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    f, x = compiled("quartic_sum"), _point("e", 1500)
    assert_array_equal(pickle.loads(pickle.dumps(f)).grad(x), f.grad(x))
    local = hp.hutchinson_diag(f, x, hvps=40, seed=2, structure="none")
    make = ThreadPoolExecutor if pool == "threads" else ProcessPoolExecutor
    with make(2) as ex:  # a worker process compiles it again: a cache hit
        shared = hp.hutchinson_diag(f, x, hvps=40, seed=2, executor=ex, structure="none")
    assert_array_equal(shared.value, local.value)
    assert_array_equal(shared.stderr, local.stderr)


@pytest.mark.parametrize("name", ["ackley (built-in)", "quartic_sum"])
def test_every_probing_block_sees_a_fresh_state(name):
    # A state in several parts whose finish() keeps only the total (Ackley: parts of
    # 4096; quartic_sum: 1000): every block of a probing run must prepare all the parts
    # again, so every probe's sample is v . (H v) of that probe.
    f = hp.functions.ackley() if name.startswith("ackley") else compiled(name)
    n = 10_000
    x = _point(name, n, seed=12)
    V = hp._core.rademacher(3, 0, 24, n)
    want = np.einsum("ij,ij->i", V, hp.hvp(f, x, V))
    for threads in (1, 2):
        got = hp.sources.prepare(f, x).probe(24, 3, threads, False, 0.0)[4]
        assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_equal_to_the_dual_array_path_of_the_same_numpy_function_bit_for_bit():
    # The same Powell gradient written in NumPy, run by hessprobe on its NumPy dual
    # dtype (Gradient(scheme="dual")): HVPs and Hutchinson estimates equal to the bit.
    from compiled_cases import powell_grad_generic

    def grad(x):
        g = np.empty_like(x)

        def out(k, v):
            g[k::4] = v

        powell_grad_generic(x, out)
        return g

    x = _point("d", 2400, seed=13)
    numpy_dual = hp.Gradient(grad, scheme="dual")
    V = np.random.default_rng(3).standard_normal((11, 2400))
    assert_same_arithmetic(hp.hvp(compiled("powell"), x, V), hp.hvp(numpy_dual, x, V))
    b = hp.hutchinson_diag(numpy_dual, x, hvps=64, seed=5, structure="none")
    for threads in (1, 2):
        a = hp.hutchinson_diag(
            compiled("powell"), x, hvps=64, seed=5, threads=threads, structure="none"
        )
        assert_same_arithmetic(a.value, b.value)
        assert_same_arithmetic(a.stderr, b.stderr)
