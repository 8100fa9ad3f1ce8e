"""Issue 7: bad input to every public function, one table.

Every public entry point (``ENTRIES``) is called with every bad input of the issue
(``X_CASES`` for the point, ``V_CASES`` for the direction, ``OPTION_CASES`` for counts,
threads and seeds).  Each must raise the exception a NumPy user expects -- TypeError for a
wrong type, ValueError for a wrong value or shape, MemoryError for scratch that cannot
fit -- with a message that names the argument.  Unusual memory layouts (Fortran order,
strides, read-only, byte-swapped, integer) are accepted and must give bitwise the result
of the same values as a C-contiguous float64 array (the library converts, never
reinterprets: any misread byte would change the result).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.optimize
from numpy.testing import assert_array_equal
from scipy.optimize import rosen_der

import hessprobe as hp

N = 6
F = hp.functions.rosenbrock()
X0 = np.linspace(-1.2, 1.3, N)
V0 = np.linspace(0.5, -0.7, N)


def _residuals(x: np.ndarray) -> np.ndarray:
    # Rosenbrock as least squares: r = (10 (x_{i+1} - x_i^2), 1 - x_i)
    return np.concatenate([10.0 * (x[1:] - x[:-1] ** 2), 1.0 - x[:-1]])


def _jacobian(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    J = np.zeros((2 * (n - 1), n))
    i = np.arange(n - 1)
    J[i, i] = -20.0 * x[:-1]
    J[i, i + 1] = 10.0
    J[n - 1 + i, i] = -1.0
    return J


@dataclass(frozen=True)
class Entry:
    """A public function called as ``call(x, v, **options)``.

    ``takes_v``: it reads v (a direction); ``minimum``: the smallest n it accepts (None:
    any n >= 1); ``options``: the keyword options it takes among threads, probes, seed.
    """

    call: Callable[..., Any]
    takes_v: bool = False
    minimum: int | None = 2
    options: tuple[str, ...] = ("threads",)


def _eig(src: Any) -> Callable[..., Any]:
    return lambda x, v, **kw: hp.eigenvalues(src, x, k=1, **kw)[0]


def _sd(src: Any) -> Callable[..., Any]:
    return lambda x, v, **kw: hp.spectral_density(src, x, vectors=2, steps=3, grid=5, **kw).density


ENTRIES: dict[str, Entry] = {
    "f.value": Entry(lambda x, v: F.value(x), options=()),
    "f.grad": Entry(lambda x, v, **kw: F.grad(x, **kw)),
    "f.hvp": Entry(lambda x, v, **kw: F.hvp(x, v, **kw), takes_v=True),
    "f.hessian": Entry(lambda x, v, **kw: F.hessian(x, **kw)),
    "f.hessian_diag": Entry(lambda x, v, **kw: F.hessian_diag(x, **kw)),
    "hvp[builtin]": Entry(lambda x, v, **kw: hp.hvp(F, x, v, **kw), takes_v=True),
    "hvp[callable]": Entry(lambda x, v, **kw: hp.hvp(rosen_der, x, v, **kw), True, None),
    "hutchinson_diag[builtin]": Entry(
        lambda x, v, **kw: hp.hutchinson_diag(F, x, **{"hvps": 9, **kw}, structure="none").value,
        options=("threads", "hvps", "seed"),
    ),
    "hutchinson_diag[callable]": Entry(
        lambda x, v, **kw: (
            hp.hutchinson_diag(rosen_der, x, **{"hvps": 9, **kw}, structure="none").value
        ),
        minimum=None,
        options=("threads", "hvps", "seed"),
    ),
    "hutchinson_trace[builtin]": Entry(
        lambda x, v, **kw: hp.hutchinson_trace(F, x, **{"hvps": 9, **kw}, structure="none").value,
        options=("threads", "hvps", "seed"),
    ),
    "hutchinson_trace[callable]": Entry(
        lambda x, v, **kw: (
            hp.hutchinson_trace(rosen_der, x, **{"hvps": 9, **kw}, structure="none").value
        ),
        minimum=None,
        options=("threads", "hvps", "seed"),
    ),
    "hessp[builtin]": Entry(lambda x, v, **kw: hp.hessp(F, **kw)(x, v), takes_v=True),
    "hessp[callable]": Entry(lambda x, v, **kw: hp.hessp(rosen_der, **kw)(x, v), True, None),
    "HessianOperator[builtin]": Entry(
        lambda x, v, **kw: hp.HessianOperator(F, x, **kw).matvec(v), takes_v=True
    ),
    "HessianOperator[callable]": Entry(
        lambda x, v, **kw: hp.HessianOperator(rosen_der, x, **kw).matvec(v), True, None
    ),
    "hessian[builtin]": Entry(lambda x, v, **kw: hp.hessian(F, x, **kw)),
    "hessian[callable]": Entry(lambda x, v, **kw: hp.hessian(rosen_der, x, **kw), minimum=None),
    # eigenvalues needs k = 1 < n: n >= 2 for every source
    "eigenvalues[builtin]": Entry(_eig(F), options=("threads", "seed")),
    "eigenvalues[callable]": Entry(_eig(rosen_der), options=("threads", "seed")),
    "spectral_density[builtin]": Entry(_sd(F), options=("threads", "seed")),
    "spectral_density[callable]": Entry(_sd(rosen_der), minimum=None, options=("threads", "seed")),
    "hessian_diag[builtin,band]": Entry(
        lambda x, v, **kw: hp.hessian_diag(F, x, bandwidth=1, **kw)
    ),
    "hessian_diag[callable,band]": Entry(
        lambda x, v, **kw: hp.hessian_diag(rosen_der, x, bandwidth=1, **kw), minimum=None
    ),
    "hessian[builtin,band]": Entry(
        lambda x, v, **kw: hp.hessian(F, x, bandwidth=1, **kw).toarray()
    ),
    "trace[builtin]": Entry(
        lambda x, v, **kw: hp.trace(F, x, 9, **kw, structure="none").value,
        options=("threads", "seed"),
    ),
    "diagonal[callable]": Entry(
        lambda x, v, **kw: hp.diagonal(rosen_der, x, 9, **kw, structure="none").value,
        minimum=None,
        options=("threads", "seed"),
    ),
    "gauss_newton[residuals]": Entry(
        lambda x, v: hp.gauss_newton(_residuals, x, _jacobian).matvec(v),
        takes_v=False,  # a LinearOperator of numbers: complex v is a valid input there
        minimum=None,
        options=(),
    ),
}
NAMES = list(ENTRIES)
V_NAMES = [k for k, e in ENTRIES.items() if e.takes_v]


# --------------------------------------------------------------------------------------
# x: wrong shape, empty, too small, non-finite, wrong dtype
# --------------------------------------------------------------------------------------

X_CASES: dict[str, tuple[Any, type[Exception], str]] = {
    # id: (x, exception, regex the message must match besides naming x)
    "ndim=2": (np.ones((2, N)), ValueError, r"1-D|shape"),
    "ndim=0": (np.float64(1.0), ValueError, r"1-D|shape"),
    "empty": (np.ones(0), ValueError, r"empty|length"),
    "nan": (np.where(np.arange(N) == 2, np.nan, X0), ValueError, r"finite|NaN"),
    "inf": (np.where(np.arange(N) == 4, np.inf, X0), ValueError, r"finite|Inf"),
    "-inf": (np.where(np.arange(N) == 0, -np.inf, X0), ValueError, r"finite|Inf"),
    "complex": (X0 + 0j, TypeError, r"complex|real"),
    "object": (np.array(list(X0), dtype=object), TypeError, r"object|real"),
    "bool": (np.ones(N, dtype=bool), TypeError, r"bool|real"),
    "string": (np.array(["1.0"] * N), TypeError, r"<U|str|real"),
    "list-of-str": (["a"] * N, TypeError, r"<U|str|real"),
}


@pytest.mark.parametrize("case", list(X_CASES), ids=list(X_CASES))
@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_bad_x(name: str, case: str) -> None:
    x, exc, pattern = X_CASES[case]
    with pytest.raises(exc, match=rf"(?=[\s\S]*\bx\b)(?=[\s\S]*({pattern}))"):
        ENTRIES[name].call(x, V0)


MIN_NAMES = [k for k, e in ENTRIES.items() if e.minimum is not None]


@pytest.mark.parametrize("name", MIN_NAMES, ids=MIN_NAMES)
def test_n_too_small(name: str) -> None:
    # Rosenbrock needs n >= 2; eigenvalues(k=1) needs k < n.  (A callable gradient
    # defines its own n: n = 1 is the user's business there.)
    with pytest.raises(ValueError, match=r"(?=[\s\S]*\b(x|k)\b)(?=[\s\S]*(>= 2|< n = 1))"):
        ENTRIES[name].call(np.array([0.5]), np.array([1.0]))


# --------------------------------------------------------------------------------------
# v: wrong length or shape, empty, non-finite, wrong dtype
# --------------------------------------------------------------------------------------

V_CASES: dict[str, tuple[Any, type[Exception], str]] = {
    "len=n+1": (np.ones(N + 1), ValueError, rf"\b{N}\b"),
    "len=n-1": (np.ones(N - 1), ValueError, rf"\b{N}\b"),
    "empty": (np.ones(0), ValueError, rf"\b{N}\b|empty"),
    "ndim=3": (np.ones((1, 1, N)), ValueError, r"1-D|2-D|shape"),
    "nan": (np.where(np.arange(N) == 1, np.nan, V0), ValueError, r"finite|NaN"),
    "inf": (np.where(np.arange(N) == 3, np.inf, V0), ValueError, r"finite|Inf"),
    "complex": (V0 + 1j, TypeError, r"complex|real"),
    "object": (np.array(list(V0), dtype=object), TypeError, r"object|real"),
    "bool": (np.ones(N, dtype=bool), TypeError, r"bool|real"),
    "string": (np.array(["1"] * N), TypeError, r"<U|str|real"),
}


@pytest.mark.parametrize("case", list(V_CASES), ids=list(V_CASES))
@pytest.mark.parametrize("name", V_NAMES, ids=V_NAMES)
def test_bad_v(name: str, case: str) -> None:
    v, exc, pattern = V_CASES[case]
    if name.startswith("HessianOperator") and case in ("len=n+1", "len=n-1", "empty", "ndim=3"):
        # LinearOperator.matvec checks the shape itself (scipy's message names no
        # argument: it has one, the vector)
        with pytest.raises(ValueError, match=r"dimension mismatch"):
            ENTRIES[name].call(X0, v)
        return
    with pytest.raises(exc, match=rf"(?=[\s\S]*\b(v|p)\b)(?=[\s\S]*({pattern}))"):
        ENTRIES[name].call(X0, v)


# --------------------------------------------------------------------------------------
# Layouts: accepted and read correctly (bitwise the contiguous float64 result)
# --------------------------------------------------------------------------------------


def _layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    strided = np.empty(3 * a.size)
    strided[::3] = a
    readonly = a.copy()
    readonly.flags.writeable = False
    return {
        "strided": strided[::3],
        "reversed": a[::-1].copy()[::-1],
        "read-only": readonly,
        "byte-swapped": a.astype(a.dtype.newbyteorder(">" if np.little_endian else "<")),
        "float32-exact": a.astype(np.float32),  # values chosen exact in float32
        "list": list(a),
    }


# values exactly representable in float32 and in int, for the dtype-conversion layouts
XL = np.array([-1.25, 0.5, 1.0, 0.75, -0.5, 1.5])
VL = np.array([0.5, -1.0, 0.25, 2.0, -0.75, 1.0])
LAYOUTS = list(_layouts(XL))


def _reference(name: str) -> Any:
    out = ENTRIES[name].call(XL, VL)
    if name in ("f.hvp", "hvp[builtin]", "hessp[builtin]", "HessianOperator[builtin]"):
        # the contiguous result itself is right: scipy's closed-form Rosenbrock H v
        np.testing.assert_allclose(
            out, scipy.optimize.rosen_hess_prod(XL, VL), rtol=1e-14, atol=1e-13
        )
    return out


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUTS)
@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_x_layouts_read_correctly(name: str, layout: str) -> None:
    x = _layouts(XL)[layout]
    assert_array_equal(ENTRIES[name].call(x, VL), _reference(name))


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUTS)
@pytest.mark.parametrize("name", V_NAMES, ids=V_NAMES)
def test_v_layouts_read_correctly(name: str, layout: str) -> None:
    v = _layouts(VL)[layout]
    assert_array_equal(ENTRIES[name].call(XL, v), _reference(name))


V_BLOCK_NAMES = ["f.hvp", "hvp[builtin]", "hvp[callable]"]


@pytest.mark.parametrize("name", V_BLOCK_NAMES, ids=V_BLOCK_NAMES)
def test_fortran_ordered_block_of_directions(name: str) -> None:
    V = np.random.default_rng(7).standard_normal((5, N))
    ref = ENTRIES[name].call(XL, V)
    VF = np.asfortranarray(V)
    assert not VF.flags.c_contiguous
    assert_array_equal(ENTRIES[name].call(XL, VF), ref)
    assert_array_equal(ENTRIES[name].call(XL, V.T.copy().T), ref)  # also Fortran order
    assert_array_equal(ENTRIES[name].call(XL, np.repeat(V, 2, axis=1)[:, ::2]), ref)


def test_fortran_ordered_operator_matmat() -> None:
    V = np.random.default_rng(8).standard_normal((N, 4))
    for src in (F, rosen_der):
        op = hp.HessianOperator(src, XL)
        ref = op.matmat(np.ascontiguousarray(V))
        assert_array_equal(op.matmat(np.asfortranarray(V)), ref)
        assert_array_equal(op.matmat(V.astype(">f8")), ref)


def test_inputs_are_not_written() -> None:
    x, v = XL.copy(), VL.copy()
    for name in NAMES:
        ENTRIES[name].call(x, v)
        assert_array_equal(x, XL, err_msg=name)
        assert_array_equal(v, VL, err_msg=name)


# --------------------------------------------------------------------------------------
# Options: hvps, threads, seed
# --------------------------------------------------------------------------------------

OPTION_CASES: dict[str, tuple[str, Any, type[Exception]]] = {
    "hvps=0": ("hvps", 0, ValueError),
    "hvps=-5": ("hvps", -5, ValueError),
    "hvps=2.0": ("hvps", 2.0, TypeError),
    "hvps=True": ("hvps", True, TypeError),
    "hvps='8'": ("hvps", "8", TypeError),
    "threads=0": ("threads", 0, ValueError),
    "threads=-1": ("threads", -1, ValueError),
    "threads=10**6": ("threads", 10**6, ValueError),
    "threads=2**70": ("threads", 2**70, ValueError),
    "threads=1.5": ("threads", 1.5, TypeError),
    "threads='2'": ("threads", "2", TypeError),
    "seed=1.5": ("seed", 1.5, TypeError),
    "seed='0'": ("seed", "0", TypeError),
    "seed=None": ("seed", None, TypeError),
    "seed=-1": ("seed", -1, ValueError),
    "seed=2**64": ("seed", 2**64, ValueError),
}
OPTION_PAIRS = [
    (name, case)
    for name in NAMES
    for case, (opt, _, _) in OPTION_CASES.items()
    if opt in ENTRIES[name].options
]


@pytest.mark.parametrize(
    "name,case", OPTION_PAIRS, ids=[f"{name}-{case}" for name, case in OPTION_PAIRS]
)
def test_bad_option(name: str, case: str) -> None:
    opt, value, exc = OPTION_CASES[case]
    with pytest.raises(exc, match=rf"\b{opt}\b"):
        ENTRIES[name].call(X0, V0, **{opt: value})


OTHER_COUNTS = [
    ("eigenvalues-k=0", lambda: hp.eigenvalues(F, X0, k=0), ValueError, "k"),
    ("eigenvalues-k=n", lambda: hp.eigenvalues(F, X0, k=N), ValueError, "k"),
    ("eigenvalues-k=1.0", lambda: hp.eigenvalues(F, X0, k=1.0), TypeError, "k"),
    ("eigenvalues-maxiter=0", lambda: hp.eigenvalues(F, X0, k=1, maxiter=0), ValueError, "maxiter"),
    ("eigenvalues-tol=nan", lambda: hp.eigenvalues(F, X0, k=1, tol=np.nan), ValueError, "tol"),
    ("sd-vectors=0", lambda: hp.spectral_density(F, X0, vectors=0), ValueError, "vectors"),
    ("sd-steps=-1", lambda: hp.spectral_density(F, X0, steps=-1), ValueError, "steps"),
    ("sd-grid=1", lambda: hp.spectral_density(F, X0, grid=1), ValueError, "grid"),
    ("sd-sigma=0", lambda: hp.spectral_density(F, X0, sigma=0.0), ValueError, "sigma"),
    ("hessian-block=0", lambda: hp.hessian(rosen_der, X0, block=0), ValueError, "block"),
    ("hessian-block=2.5", lambda: hp.hessian(rosen_der, X0, block=2.5), TypeError, "block"),
    ("hvp-step=0", lambda: hp.hvp(rosen_der, X0, V0, step=0.0), ValueError, "step"),
    ("hvp-step=inf", lambda: hp.hvp(rosen_der, X0, V0, step=np.inf), ValueError, "step"),
    ("hvp-scheme", lambda: hp.hvp(rosen_der, X0, V0, scheme="backward"), ValueError, "scheme"),
    ("gauss_newton-damping", lambda: hp.gauss_newton(F, X0, damping=-1.0), ValueError, "damping"),
    ("source=42", lambda: hp.hvp(42, X0, V0), TypeError, "source"),
    ("Gradient-fn=1", lambda: hp.Gradient(1), TypeError, "fn"),
]


@pytest.mark.parametrize(
    "call,exc,arg", [c[1:] for c in OTHER_COUNTS], ids=[c[0] for c in OTHER_COUNTS]
)
def test_bad_other_argument(call: Callable[[], Any], exc: type[Exception], arg: str) -> None:
    with pytest.raises(exc, match=rf"\b{arg}\b"):
        call()


def test_absurd_thread_count_within_limit_is_capped() -> None:
    # threads may exceed the cores (1024 is the documented limit); the team is capped at
    # the work items, so the result is the one of threads=1 (bitwise)
    ref = hp.hutchinson_diag(F, X0, hvps=17, seed=3, threads=1, structure="none").value
    assert_array_equal(
        hp.hutchinson_diag(F, X0, hvps=17, seed=3, threads=1024, structure="none").value, ref
    )
    ref = hp.hutchinson_diag(rosen_der, X0, hvps=17, seed=3, threads=1, structure="none").value
    assert_array_equal(
        hp.hutchinson_diag(rosen_der, X0, hvps=17, seed=3, threads=1024, structure="none").value,
        ref,
    )


# --------------------------------------------------------------------------------------
# Scratch memory that cannot fit: refused up front, naming the argument
# --------------------------------------------------------------------------------------

# 2**50 probes need 8 PiB for their trace samples alone; n = 10**6 gives a dense Hessian of
# 8 TB.  Both far exceed any machine, so the refusal does not depend on the test host.
HUGE = [
    (
        "hutchinson_diag[builtin]",
        lambda: hp.hutchinson_diag(F, X0, hvps=2**50, structure="none"),
        "hvps",
    ),
    (
        "hutchinson_diag[callable]",
        lambda: hp.hutchinson_diag(rosen_der, X0, hvps=2**50, structure="none"),
        "hvps",
    ),
    (
        "hutchinson_trace[builtin]",
        lambda: hp.hutchinson_trace(F, X0, hvps=2**62, structure="none"),
        "hvps",
    ),
    (
        "hutchinson_trace[callable]",
        lambda: hp.hutchinson_trace(rosen_der, X0, hvps=2**62, structure="none"),
        "hvps",
    ),
    ("f.hessian", lambda: F.hessian(np.zeros(10**6)), "x"),
    ("hessian[builtin]", lambda: hp.hessian(F, np.zeros(10**6)), "x"),
    ("hessian[callable]", lambda: hp.hessian(rosen_der, np.zeros(10**6)), "x"),
    ("spectral_density", lambda: hp.spectral_density(F, np.zeros(10**6), steps=10**6), "steps"),
]


@pytest.mark.parametrize("call,arg", [h[1:] for h in HUGE], ids=[h[0] for h in HUGE])
def test_scratch_that_cannot_fit_is_refused_up_front(call: Callable[[], Any], arg: str) -> None:
    with pytest.raises(MemoryError, match=rf"(?=[\s\S]*\b{arg}\b)(?=[\s\S]*available)"):
        call()
