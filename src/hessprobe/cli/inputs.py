"""What a curvature command works on: the function and the point.

The function is a built-in (by name) or a gradient ``module:function``; the point is
``--x file.npy``, or ``--n`` entries of the default value.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import functions
from .errors import CliError

__all__ = ["BUILTINS", "DEFAULT_N", "DEFAULT_VALUE", "load_function", "load_point", "positive"]

#: The built-ins a command can name: those that need no data.
BUILTINS: dict[str, Callable[[], functions.Function]] = {
    "rosenbrock": functions.rosenbrock,
    "styblinski_tang": functions.styblinski_tang,
    "rastrigin": functions.rastrigin,
    "ackley": functions.ackley,
}

#: Without ``--x``: the point of ``--n`` (default DEFAULT_N) entries, all DEFAULT_VALUE.
DEFAULT_N = 1000
DEFAULT_VALUE = 0.5


def positive(text: str) -> int:
    """Parse an integer >= 1 (argparse type of ``--probes``, ``--n``, ``--threads``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def load_function(name: str) -> Any:
    """Return the built-in ``name`` or the gradient callable of ``module:function``."""
    if name in BUILTINS:
        return BUILTINS[name]()
    if ":" not in name:
        known = ", ".join(BUILTINS)
        raise CliError(
            f"unknown function {name!r}: give a built-in ({known}) or a gradient as module:function"
        )
    module_name, _, attr = name.partition(":")
    if "" not in sys.path:
        sys.path.insert(0, "")  # like python -m: modules in the working directory
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CliError(f"cannot import module {module_name!r} of {name!r}: {exc}") from None
    grad = getattr(module, attr, None)
    if not callable(grad):
        raise CliError(f"module {module_name!r} has no function {attr!r}")
    return grad


def load_point(path: str | None, n: int | None) -> NDArray[np.float64]:
    """Return x from a .npy file (1-D, finite; ``n`` must agree) or the default point."""
    if path is None:
        return np.full(DEFAULT_N if n is None else n, DEFAULT_VALUE)
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read --x {path!r} as a .npy array: {exc}") from None
    if x.ndim != 1 or x.size == 0:
        raise CliError(f"--x {path!r} must hold a 1-D array, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise CliError(f"--x {path!r} must hold real numbers, got dtype {x.dtype}")
    if n is not None and n != x.size:
        raise CliError(f"--n {n} disagrees with --x {path!r} of length {x.size}")
    return np.asarray(x, dtype=np.float64)
