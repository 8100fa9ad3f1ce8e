# Stub for the compiled core (hessprobe._core re-exports _core_baseline, _core_avx2 or
# _core_avx512, and adds BUILDS and runnable_builds).
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

_F64 = NDArray[np.float64]
_ProbeTuple = tuple[_F64 | None, _F64 | None, float, float, _F64]
# a partial run: per-block S1, S2 (None: trace only), r (block 0's share), trace samples
_PartialTuple = tuple[_F64 | None, _F64 | None, _F64 | None, _F64]

probe_lanes: int
BUILDS: tuple[str, ...]

def runnable_builds() -> tuple[str, ...]: ...
def build_info() -> dict[str, Any]: ...
def step_factor(scheme: str) -> float: ...
def cpu_runs(simd: str) -> bool: ...
def rademacher(seed: int, first: int, count: int, n: int) -> _F64: ...
def native_signatures() -> list[str]: ...

# star colouring of a symmetric CSR pattern (int32 arrays used in place, else int64):
# (colours, hubs, count), or the greedy distance-2 colouring when it has fewer colours;
# H_ij = (H v_c)[i + j - hubs[k]] with c = colours[hubs[k]]
def star_colouring(
    indptr: NDArray[np.integer[Any]],
    indices: NDArray[np.integer[Any]],
    order: str = "natural",
    hubs: bool = True,
) -> tuple[NDArray[np.integer[Any]], NDArray[np.integer[Any]] | None, int]: ...
def distance2_colouring(
    indptr: NDArray[np.integer[Any]], indices: NDArray[np.integer[Any]]
) -> tuple[NDArray[np.integer[Any]], NDArray[np.integer[Any]], int]: ...
def vertex_order(
    indptr: NDArray[np.integer[Any]], indices: NDArray[np.integer[Any]], order: str
) -> NDArray[np.integer[Any]]: ...
def fd_hvp(
    source: Callable[..., Any] | object,
    vectorized: bool,
    x: _F64,
    v: _F64,
    scheme: str,
    step: float,
    threads: int,
    out: _F64 | None = None,
) -> _F64: ...
def fd_probe(
    source: Callable[..., Any] | object,
    vectorized: bool,
    x: _F64,
    probes: int,
    seed: int,
    threads: int,
    diagonal: bool,
    scheme: str,
    step: float,
    tol: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> _ProbeTuple: ...
def block_probe(
    products: Callable[[_F64], _F64],
    n: int,
    probes: int,
    seed: int,
    threads: int,
    diagonal: bool,
    tol: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> _ProbeTuple: ...
def block_probe_blocks(
    products: Callable[[_F64], _F64],
    n: int,
    probes: int,
    seed: int,
    first_block: int,
    count: int,
    threads: int,
    diagonal: bool,
    reference: _F64 | None = None,
) -> _PartialTuple: ...
def fd_probe_blocks(
    source: Callable[..., Any] | object,
    vectorized: bool,
    x: _F64,
    probes: int,
    seed: int,
    first_block: int,
    count: int,
    threads: int,
    diagonal: bool,
    scheme: str,
    step: float,
    reference: _F64 | None = None,
) -> _PartialTuple: ...

class ProbeReduction:
    def __init__(self, n: int, probes: int, diagonal: bool) -> None: ...
    def add(
        self, d: _F64 | None, dd: _F64 | None, reference: _F64 | None, samples: _F64
    ) -> None: ...
    def target_met(self, tol: float) -> bool: ...
    def finish(self) -> _ProbeTuple: ...
    @property
    def blocks(self) -> int: ...
    @property
    def done(self) -> int: ...

class _Builtin:
    @property
    def name(self) -> str: ...
    @property
    def min_size(self) -> int: ...
    @property
    def fixed_size(self) -> int: ...
    @property
    def bandwidth(self) -> int: ...
    def value(self, x: _F64) -> float: ...
    # out: the array to write into (checked by the caller), else a new one
    def gradient(self, x: _F64, threads: int, out: _F64 | None = None) -> _F64: ...
    def hvp(self, x: _F64, v: _F64, threads: int, out: _F64 | None = None) -> _F64: ...
    def hessian(self, x: _F64, threads: int, out: _F64 | None = None) -> _F64: ...
    def hessian_diag(self, x: _F64, threads: int, out: _F64 | None = None) -> _F64: ...
    def probe(
        self,
        x: _F64,
        probes: int,
        seed: int,
        threads: int,
        diagonal: bool,
        tol: float = 0.0,
        progress: Callable[[int, int], None] | None = None,
    ) -> _ProbeTuple: ...
    def probe_blocks(
        self,
        x: _F64,
        probes: int,
        seed: int,
        first_block: int,
        count: int,
        threads: int,
        diagonal: bool,
        reference: _F64 | None = None,
    ) -> _PartialTuple: ...

class Rosenbrock(_Builtin):
    def __init__(self) -> None: ...

class StyblinskiTang(_Builtin):
    def __init__(self) -> None: ...

class Rastrigin(_Builtin):
    def __init__(self, a: float) -> None: ...

class Ackley(_Builtin):
    def __init__(self, a: float, b: float, c: float) -> None: ...

class Quadratic(_Builtin):
    def __init__(self, A: _F64, b: _F64) -> None: ...

class LogisticRegression(_Builtin):
    def __init__(self, X: _F64, y: _F64, l2: float) -> None: ...

class ExponentialFit(_Builtin):
    def __init__(self, t: _F64, y: _F64) -> None: ...
    @property
    def residual_count(self) -> int: ...
    def residuals(self, x: _F64) -> _F64: ...
    def jacobian(self, x: _F64) -> _F64: ...

# A user's compiled function (bind_compiled.cpp; hessprobe/abi.h)
abi_version: int
capsule_name: str
factory_symbol: str

class Compiled(_Builtin):
    def __init__(self, capsule: object) -> None: ...
    @staticmethod
    def from_factory(address: int, params: _F64, keep: object) -> Compiled: ...
    @property
    def has_value(self) -> bool: ...
    @property
    def flags(self) -> str: ...
    @property
    def lanes(self) -> tuple[int, int, int]: ...

# Tangent callbacks (bind_tangent.cpp; hessprobe/tangent.hpp)
def tangent_signatures() -> list[str]: ...
def tangent_gradient(callback: object, x: _F64) -> _F64: ...
def tangent_hvp(callback: object, x: _F64, v: _F64, threads: int) -> _F64: ...
def tangent_probe(
    callback: object,
    x: _F64,
    probes: int,
    seed: int,
    threads: int,
    diagonal: bool,
    tol: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> _ProbeTuple: ...
