"""The compiled core for this CPU.

The C++ core is built once per instruction set: ``_core_baseline`` (runs on any x86-64 or
other CPU) and, on x86-64, ``_core_avx2``.  Both round identically (no FMA contraction),
so the choice changes speed, never results.  ``HESSPROBE_SIMD=baseline`` forces the
baseline build; ``HESSPROBE_SIMD=avx2`` requires the AVX2 one.
"""

from __future__ import annotations

import os
from types import ModuleType

from . import _core_baseline


def _select() -> ModuleType:
    wanted = os.environ.get("HESSPROBE_SIMD", "auto")
    if wanted not in ("auto", "baseline", "avx2"):
        raise ImportError(f"HESSPROBE_SIMD must be auto, baseline or avx2, got {wanted!r}")
    if wanted == "baseline":
        return _core_baseline
    if not _core_baseline.cpu_has_avx2():
        if wanted == "avx2":
            raise ImportError("HESSPROBE_SIMD=avx2, but this CPU has no AVX2")
        return _core_baseline
    try:
        from . import _core_avx2
    except ImportError:
        if wanted == "avx2":
            raise
        return _core_baseline
    return _core_avx2


_impl = _select()
globals().update({k: v for k, v in vars(_impl).items() if not k.startswith("__")})
