"""The compiled core for this CPU.

The C++ core is built once per instruction set: ``_core_baseline`` (any x86-64 or other
CPU; no FMA, so the same bits on every machine) and, on x86-64, ``_core_avx2`` (AVX2 +
FMA) and ``_core_avx512`` (AVX-512 F/VL/DQ + FMA, 512-bit vectors).  The FMA builds
round the dual lanes' ``a * b + c`` once, so their results differ from the baseline's
in the last bits; each build is bitwise reproducible for every thread count
(docs/guide/builds.rst).  The package imports the widest build this CPU runs;
``HESSPROBE_SIMD`` (``auto``, or one of :data:`BUILDS`) picks one, and an explicit
choice this CPU or installation cannot run is an ImportError.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from . import _core_baseline

#: The builds, narrowest first.
BUILDS = ("baseline", "avx2", "avx512")


def _load(build: str) -> ModuleType | None:
    """Return the module of ``build``, or None when it is not installed."""
    try:
        return importlib.import_module(f"{__package__}._core_{build}")
    except ImportError:
        return None


def runnable_builds() -> tuple[str, ...]:
    """Return the builds installed here whose instruction set this CPU has, narrowest first.

    Examples
    --------
    >>> from hessprobe import _core
    >>> _core.runnable_builds()[0]
    'baseline'
    """
    return tuple(b for b in BUILDS if _core_baseline.cpu_runs(b) and _load(b) is not None)


def _select() -> ModuleType:
    wanted = os.environ.get("HESSPROBE_SIMD", "auto")
    if wanted != "auto" and wanted not in BUILDS:
        raise ImportError(
            f"HESSPROBE_SIMD must be auto or one of {', '.join(BUILDS)}, got {wanted!r}"
        )
    if wanted == "auto":
        module = _load(runnable_builds()[-1])
        assert module is not None
        return module
    if not _core_baseline.cpu_runs(wanted):
        raise ImportError(f"HESSPROBE_SIMD={wanted}, but this CPU lacks its instruction set")
    module = _load(wanted)
    if module is None:
        raise ImportError(f"HESSPROBE_SIMD={wanted}, but this installation has no {wanted} build")
    return module


_impl = _select()
globals().update({k: v for k, v in vars(_impl).items() if not k.startswith("__")})
