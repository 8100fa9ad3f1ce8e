"""hessprobe: fast Hessian curvature from NumPy.

Exact Hessian-vector products by forward-mode dual numbers (eight directions per pass),
Hutchinson estimates of the Hessian's diagonal and trace by multithreaded, reproducible
Rademacher probing, for built-in functions and for your own gradient.

Examples
--------
>>> import numpy as np
>>> import hessprobe as hp
>>> f = hp.functions.rosenbrock()
>>> x = np.full(5, 0.5)
>>> hp.hvp(f, x, np.ones(5))
array([-98., -98., -98., -98.,   0.])
>>> est = hp.hutchinson_diag(f, x, hvps=1000, seed=0, structure="none")   # probing
>>> bool(np.all(np.abs(est.value - f.hessian_diag(x)) < 5 * est.stderr))
True
>>> hp.hutchinson_diag(f, x).method          # its known band: exact from 2 HVPs
'colouring'
"""

from __future__ import annotations

try:
    from . import _core  # noqa: F401 - fail early, with a hint, if the extension is missing
except ImportError as err:  # pragma: no cover - only without a built extension
    raise ImportError(
        "hessprobe's compiled core (hessprobe._core) could not be imported. Install the "
        "package with `pip install .` (or `pip install --no-build-isolation -e .` for "
        "development) rather than importing it from the source tree."
    ) from err

from . import compiled, distributed, functions, optim, sketching, sparsity, tracing
from ._info import info
from .compiled import (
    CompiledFunction,
    CompileError,
    compile_gradient,
    compiled_function,
    get_cmake_dir,
    get_include,
)
from .dense import hessian
from .estimators import Estimate, hutchinson_diag, hutchinson_trace
from .gauss_newton import GaussNewtonOperator, gauss_newton
from .hvp import hvp
from .scipy_adapters import HessianOperator, hessp
from .selection import diagonal, trace
from .sources import Gradient, NativeFactory, Tangent
from .sparsity import hessian_pattern
from .spectra import SpectralDensity, eigenvalues, plot_spectral_density, spectral_density
from .structured import Colouring, colouring, hessian_diag

__version__ = "0.1.0"

__all__ = [
    "Colouring",
    "CompileError",
    "CompiledFunction",
    "Estimate",
    "GaussNewtonOperator",
    "Gradient",
    "HessianOperator",
    "NativeFactory",
    "SpectralDensity",
    "Tangent",
    "__version__",
    "colouring",
    "compile_gradient",
    "compiled",
    "compiled_function",
    "diagonal",
    "distributed",
    "eigenvalues",
    "functions",
    "gauss_newton",
    "get_cmake_dir",
    "get_include",
    "hessian",
    "hessian_diag",
    "hessian_pattern",
    "hessp",
    "hutchinson_diag",
    "hutchinson_trace",
    "hvp",
    "info",
    "optim",
    "plot_spectral_density",
    "sketching",
    "sparsity",
    "spectral_density",
    "trace",
    "tracing",
]


def __dir__() -> list[str]:
    return __all__
