"""User C++ functions for the compiled-function tests, and their NumPy references.

The C++ lives in tests/native/*.hpp (written as a built-in is written, against the
public API <hessprobe/export.hpp>); :func:`compiled` compiles each once per session with
hp.compile_gradient (the cache is a per-session directory, see conftest.py).
"""

from __future__ import annotations

import functools
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent / "native"
EXAMPLE_WOOD = Path(__file__).resolve().parents[1] / "examples" / "native_extension" / "src"
EXAMPLE_WOOD = EXAMPLE_WOOD / "chained_wood.hpp"

HAS_COMPILER = any(shutil.which(c) for c in ("c++", "g++", "clang++"))

# name: (file or inline source, struct, params)
QUADRATIC_SOURCE = """
#include <vector>
// f = 1/2 x'Ax + b'x with A (n x n) and b given as params = [A.ravel(), b]: dense, stateless.
struct ParamQuadratic : hessprobe::Stateless {
    static constexpr const char* name = "param_quadratic";
    std::vector<double> A, b;
    std::size_t size = 0;
    ParamQuadratic(const double* p, std::size_t count) {
        while ((size + 1) * (size + 2) <= count) ++size;
        A.assign(p, p + size * size);
        b.assign(p + size * size, p + size * size + size);
    }
    std::size_t fixed_size() const { return size; }
    double value(const double* x, std::size_t n) const {
        double f = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            double ax = 0.0;
            for (std::size_t j = 0; j < n; ++j) ax += A[i * n + j] * x[j];
            f += x[i] * (0.5 * ax + b[i]);
        }
        return f;
    }
    template <class T, class In, class Out>
    void gradient(const In& x, const State&, Out& g, std::size_t begin, std::size_t end,
                  std::size_t n) const {
        for (std::size_t i = begin; i < end; ++i) {
            T gi(b[i]);
            for (std::size_t j = 0; j < n; ++j) gi += A[i * n + j] * x(j);
            g.set(i, gi);
        }
    }
};
"""

# A user's copy of the built-in Rosenbrock (cpp/include/hessprobe/functions/rosenbrock.hpp):
# compiled by compile_gradient it must give the built-in's results bit for bit.
ROSENBROCK_COPY = """
#include <algorithm>
struct MyRosenbrock : hessprobe::Stateless {
    static constexpr const char* name = "my_rosenbrock";
    std::size_t min_size() const { return 2; }
    int bandwidth() const { return 1; }
    template <class T, class In, class Out>
    void gradient(const In& x, const State&, Out& g, std::size_t begin, std::size_t end,
                  std::size_t n) const {
        using hessprobe::square;
        std::size_t i = begin;
        if (i == 0 && i < end) {
            const T x0 = x(0);
            g.set(0, -400.0 * x0 * (x(1) - square(x0)) - 2.0 * (1.0 - x0));
            ++i;
        }
        const std::size_t interior_end = std::min(end, n - 1);
        for (; i < interior_end; ++i) {
            const T xi = x(i);
            g.set(i, 200.0 * (xi - square(x(i - 1))) - 400.0 * xi * (x(i + 1) - square(xi))
                         - 2.0 * (1.0 - xi));
        }
        if (i < end) g.set(i, 200.0 * (x(i) - square(x(i - 1))));
    }
};
"""

# f = sum_{i + W < n} cos(x_i - x_{i+W}) + sum x_i^4 / 4: a band of half-width W.  A block
# of HVPs reads a chunk's band from a lane-major window of up to 8 coordinates each side
# (lanes.hpp); W = 3 lies inside it, W = 11 reaches beyond it.
STENCIL_SOURCE = """
#include <cmath>
template <std::size_t W>
struct WideStencil : hessprobe::Stateless {
    int bandwidth() const { return static_cast<int>(W); }
    template <class T, class In, class Out>
    void gradient(const In& x, const State&, Out& g, std::size_t begin, std::size_t end,
                  std::size_t n) const {
        using std::sin;
        for (std::size_t i = begin; i < end; ++i) {
            const T xi = x(i);
            T gi = xi * xi * xi;
            if (i + W < n) gi = gi - sin(xi - x(i + W));
            if (i >= W) gi = gi + sin(x(i - W) - xi);
            g.set(i, gi);
        }
    }
};
struct Stencil3 : WideStencil<3> { static constexpr const char* name = "stencil3"; };
struct Stencil11 : WideStencil<11> { static constexpr const char* name = "stencil11"; };
"""

CASES: dict[str, tuple[str, str]] = {
    # the example package's own header: what a user's extension exports
    "wood": (EXAMPLE_WOOD.read_text(), "ChainedWood"),
    "powell": ((HERE / "powell.hpp").read_text(), "ExtendedPowell"),
    "quartic_sum": ((HERE / "quartic_sum.hpp").read_text(), "QuarticPlusSquaredSum"),
    "rosenbrock_copy": (ROSENBROCK_COPY, "MyRosenbrock"),
}


@functools.cache
def compiled(name: str) -> Any:
    """The compiled function ``name`` of CASES (all of them compiled at the first call)."""
    import hessprobe as hp

    def build(key: str) -> Any:
        source, struct = CASES[key]
        return hp.compile_gradient(source, function=struct)

    if name in CASES and not _built:
        with ThreadPoolExecutor(2) as pool:  # the compiler runs outside the GIL
            _built.update(zip(CASES, pool.map(build, CASES)))
    return _built[name]


_built: dict[str, Any] = {}


def compiled_quadratic(A: np.ndarray, b: np.ndarray) -> Any:
    import hessprobe as hp

    return hp.compile_gradient(
        QUADRATIC_SOURCE, function="ParamQuadratic", params=np.concatenate([A.ravel(), b])
    )


@functools.cache
def compiled_stencil(width: int) -> Any:
    """The WideStencil of half-width ``width`` (3 or 11), compiled."""
    import hessprobe as hp

    return hp.compile_gradient(STENCIL_SOURCE, function=f"Stencil{width}")


def stencil_hvp(x: np.ndarray, v: np.ndarray, width: int) -> np.ndarray:
    c = np.cos(x[:-width] - x[width:])  # H[i, i + W]; it also enters H[i, i] and H[i + W, i + W]
    h = 3 * x**2 * v
    h[:-width] += c * (v[width:] - v[:-width])
    h[width:] += c * (v[:-width] - v[width:])
    return h


# ---- NumPy references ---------------------------------------------------------------


def wood_grad(x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    a, b, c, d = x[0:-3:2], x[1:-2:2], x[2:-1:2], x[3::2]
    g[0:-3:2] += 400 * a * (a * a - b) + 2 * (a - 1)
    g[1:-2:2] += -200 * (a * a - b) + 20.2 * (b - 1) + 19.8 * (d - 1)
    g[2:-1:2] += 360 * c * (c * c - d) + 2 * (c - 1)
    g[3::2] += -180 * (c * c - d) + 20.2 * (d - 1) + 19.8 * (b - 1)
    return g


def wood_hvp(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    h = np.zeros_like(v)
    a, b, c, d = x[0:-3:2], x[1:-2:2], x[2:-1:2], x[3::2]
    va, vb, vc, vd = v[0:-3:2], v[1:-2:2], v[2:-1:2], v[3::2]
    aa, ab, cc, cd = 1200 * a * a - 400 * b + 2, -400 * a, 1080 * c * c - 360 * d + 2, -360 * c
    h[0:-3:2] += aa * va + ab * vb
    h[1:-2:2] += ab * va + 220.2 * vb + 19.8 * vd
    h[2:-1:2] += cc * vc + cd * vd
    h[3::2] += 19.8 * vb + cd * vc + 200.2 * vd
    return h


def powell_grad(x: np.ndarray) -> np.ndarray:
    a, b, c, d = (x[k::4] for k in range(4))
    p, q, r, t = a + 10 * b, c - d, b - 2 * c, a - d
    g = np.empty_like(x)
    g[0::4], g[1::4] = 2 * p + 40 * t**3, 20 * p + 4 * r**3
    g[2::4], g[3::4] = 10 * q - 8 * r**3, -10 * q - 40 * t**3
    return g


def powell_hvp(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    a, b, c, d = (x[k::4] for k in range(4))
    va, vb, vc, vd = (v[k::4] for k in range(4))
    r2, t2 = (b - 2 * c) ** 2, (a - d) ** 2
    h = np.empty_like(v)
    h[0::4] = (2 + 120 * t2) * va + 20 * vb - 120 * t2 * vd
    h[1::4] = 20 * va + (200 + 12 * r2) * vb - 24 * r2 * vc
    h[2::4] = -24 * r2 * vb + (10 + 48 * r2) * vc - 10 * vd
    h[3::4] = -120 * t2 * va - 10 * vc + (10 + 120 * t2) * vd
    return h


def quartic_sum_grad(x: np.ndarray) -> np.ndarray:
    return 4 * x**3 + 2 * x.sum()


def quartic_sum_hvp(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    return 12 * x**2 * v + 2 * v.sum()


def rosen_hvp(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    from scipy.optimize import rosen_hess_prod

    return np.asarray(rosen_hess_prod(x, v))


def rosen_grad(x: np.ndarray) -> np.ndarray:
    from scipy.optimize import rosen_der

    return np.asarray(rosen_der(x))


REFERENCES = {
    "wood": (wood_grad, wood_hvp, 2),
    "powell": (powell_grad, powell_hvp, 3),
    "quartic_sum": (quartic_sum_grad, quartic_sum_hvp, None),
    "rosenbrock_copy": (rosen_grad, rosen_hvp, 1),
}


# ---- the dual-array path in NumPy ------------------------------------------------------


class NDual:
    """Dual numbers on arrays: values v (n,) and K tangent lanes d (K, n).

    The arithmetic is that of cpp/include/hessprobe/dual.hpp, operation for operation
    (a' b + a b' in that order; a double operand never promoted), so a gradient written
    in the same order gives the C++ dual path's numbers bit for bit.
    """

    def __init__(self, v: np.ndarray, d: np.ndarray) -> None:
        self.v, self.d = v, d

    def __add__(self, o: Any) -> NDual:
        if isinstance(o, NDual):
            return NDual(self.v + o.v, self.d + o.d)
        return NDual(self.v + o, self.d)

    __radd__ = __add__

    def __sub__(self, o: Any) -> NDual:
        if isinstance(o, NDual):
            return NDual(self.v - o.v, self.d - o.d)
        return NDual(self.v - o, self.d)

    def __rsub__(self, o: float) -> NDual:
        return NDual(o - self.v, -self.d)

    def __mul__(self, o: Any) -> NDual:
        if isinstance(o, NDual):
            return NDual(self.v * o.v, self.d * o.v + self.v * o.d)
        return NDual(self.v * o, self.d * o)

    __rmul__ = __mul__

    def __getitem__(self, s: Any) -> NDual:
        return NDual(self.v[s], self.d[:, s])


def powell_grad_generic(x: Any, out: Any) -> None:
    """tests/native/powell.hpp's gradient, operation for operation; out(k, value) sets g[k::4]."""
    a, b, c, d = (x[k::4] for k in range(4))
    p, q, r, t = a + 10.0 * b, c - d, b - 2.0 * c, a - d
    out(0, 2.0 * p + 40.0 * t * t * t)
    out(1, 20.0 * p + 4.0 * r * r * r)
    out(2, 10.0 * q - 8.0 * r * r * r)
    out(3, -10.0 * q - 40.0 * t * t * t)


def quartic_sum_grad_generic(x: NDual, part: int = 1000) -> NDual:
    """tests/native/quartic_sum.hpp's gradient: parts summed in order, each left to right."""
    n = x.v.shape[0]
    total = None
    for p in range(0, n, part):
        seg = x[p : p + part]  # 0.0 + x_0 + x_1 + ...: cumsum is a left-to-right sum
        s = NDual(np.cumsum(seg.v)[-1], np.cumsum(seg.d, axis=1)[:, -1:])
        total = s if total is None else total + s
    assert total is not None
    two_ws = total * 2.0
    return 4.0 * x * x * x + two_ws


def dual_hvp(name: str, x: np.ndarray, V: np.ndarray) -> np.ndarray:
    """H V' as rows by the NumPy dual-array path (powell or quartic_sum)."""
    xd = NDual(x, V)
    if name == "quartic_sum":
        return quartic_sum_grad_generic(xd).d
    HV = np.empty_like(V)

    def out(k: int, g: NDual) -> None:
        HV[:, k::4] = g.d

    powell_grad_generic(xd, out)
    return HV
