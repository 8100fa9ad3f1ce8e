"""Argument checking shared by the public functions: every message names the argument."""

from __future__ import annotations

import numbers
import operator
import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _core

#: Upper bound on ``threads``: far above any real core count, low enough to catch typos.
MAX_THREADS = 1024


def as_real_array(a: Any, name: str) -> NDArray[np.float64]:
    """Return ``a`` as a C-contiguous float64 array; only real numeric dtypes are taken."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu":
        raise TypeError(
            f"{name} must be a real numeric array (float or integer), got dtype {arr.dtype}"
        )
    # A C-contiguous float64 copy when needed: strided, Fortran-ordered, read-only,
    # byte-swapped or integer input is converted, never reinterpreted.  (Not
    # np.ascontiguousarray: it would turn a 0-D scalar into shape (1,).)
    return np.asarray(arr, dtype=np.float64, order="C")


def as_point(x: Any, name: str = "x", *, check_finite: bool = True) -> NDArray[np.float64]:
    """Return ``x`` as a 1-D, non-empty, C-contiguous float64 array."""
    arr = as_real_array(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if check_finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or Inf)")
    return arr


def as_directions(v: Any, n: int, name: str = "v") -> tuple[NDArray[np.float64], bool]:
    """Return ``v`` as a (k, n) block and whether it was a single (n,) vector."""
    arr = as_real_array(v, name)
    if arr.ndim == 1:
        if arr.shape[0] != n:
            raise ValueError(f"{name} must have length {n} (the length of x), got {arr.shape[0]}")
        return arr.reshape(1, n), True
    if arr.ndim == 2:
        if arr.shape[1] != n:
            raise ValueError(
                f"{name} must have shape (k, {n}) (rows of the length of x), got {arr.shape}"
            )
        return arr, False
    raise ValueError(f"{name} must be 1-D (n,) or 2-D (k, n), got shape {arr.shape}")


def check_out(
    out: Any, shape: tuple[int, ...], inputs: tuple[NDArray[Any], ...]
) -> NDArray[np.float64]:
    """Return ``out`` checked as the array a result of ``shape`` is written into.

    In the NumPy manner: a writeable, C-contiguous float64 ndarray of exactly that shape,
    sharing no memory with the inputs (which the kernel still reads while it writes).
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != np.float64:
        raise TypeError(f"out must have dtype float64, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out must have shape {shape}, got {out.shape}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError("out must be writeable")
    if any(np.may_share_memory(out, a) for a in inputs):
        raise ValueError("out must not share memory with the inputs (x, v)")
    return out


def check_all_finite(arr: NDArray[np.float64], name: str) -> None:
    """Raise ValueError if ``arr`` holds a NaN or Inf."""
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or Inf)")


def as_count(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` (bools and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    count = operator.index(value)
    if count < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {count}")
    return count


def as_seed(seed: Any) -> int:
    """Return ``seed`` as an int in [0, 2**64)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    s = operator.index(seed)
    if not 0 <= s < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {s}")
    return s


def resolve_threads(threads: Any) -> int:
    """``None`` means all cores available to this process; otherwise 1..MAX_THREADS."""
    if threads is None:
        return int(_core.build_info()["threads"])
    count = as_count(threads, "threads")
    if count > MAX_THREADS:
        raise ValueError(f"threads must be <= {MAX_THREADS}, got {count}")
    return count


def available_memory() -> int | None:
    """Bytes of memory a new allocation can still get, or None when unknown.

    Linux: ``MemAvailable`` of /proc/meminfo (free memory plus what the kernel can
    reclaim); other POSIX systems: the physical memory; elsewhere None (no check).
    """
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _size(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def check_memory(nbytes: int, what: str) -> None:
    """Raise MemoryError, up front, if ``nbytes`` exceed the available memory.

    ``what`` says which arguments ask for it, e.g. ``"probes=10**12 (8 bytes a probe)"``.
    Without this check a huge request would fail mid-run (std::bad_alloc in a worker
    thread) or, with overcommitted memory, be killed by the kernel's OOM killer.
    """
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise MemoryError(
            f"{what} needs about {_size(nbytes)} of memory, more than the {_size(avail)} available"
        )


#: Lanes of a probing block: probe_lanes of the core (cpp/include/hessprobe/fold.hpp).
PROBE_LANES = int(_core.probe_lanes)


def check_probing_memory(probes: int, n: int, threads: int) -> None:
    """Refuse a probing run whose scratch cannot fit (see :func:`check_memory`).

    The estimate: 16 bytes a probe (its trace sample, and the copy returned), a block of
    K lanes of n values with the outputs and signs (8 (2 K + 4) bytes a coordinate),
    and up to 4 vectors of n values per thread (gradient scratch and point arrays).
    """
    nbytes = 16 * probes + 8 * n * (2 * PROBE_LANES + 4) + 32 * n * threads
    check_memory(nbytes, f"hvps={probes} (with x of length n={n} and threads={threads})")
