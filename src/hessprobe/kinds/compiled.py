"""A user's compiled function (the C++ API, ``hessprobe/export.hpp``): exact, at built-in speed.

The core holds the function's C table (``hessprobe/abi.h``) and calls its entries; the
engines (gradient, HVPs on 1, 4 and 8 dual lanes, dense Hessian, diagonal, Hutchinson
probing) run inside the user's shared object with the user's gradient inlined.  To the
engines it is a built-in: :class:`~hessprobe.kinds.builtin.BuiltinSource` with another
compiled object behind it.
"""

from __future__ import annotations

from typing import Any

from .. import _core
from .._validation import as_point
from .builtin import BuiltinPrepared, BuiltinSource

__all__ = ["CompiledPrepared", "CompiledSource", "is_compiled_capsule"]


def is_compiled_capsule(obj: Any) -> bool:
    """Whether ``obj`` is a PyCapsule (any name: a wrong one is refused with its name)."""
    return type(obj).__name__ == "PyCapsule"


class CompiledSource(BuiltinSource):
    """A compiled function's table, from a capsule or a loaded shared object."""

    def __init__(self, core: Any, display: str) -> None:
        super().__init__(core, display)

    @classmethod
    def from_capsule(cls, capsule: Any) -> CompiledSource:
        """Return the source a capsule named ``hessprobe.source_v1`` holds."""
        try:
            core = _core.Compiled(capsule)
        except ValueError as err:
            raise ValueError(f"source: {err}") from None
        return cls(core, f"<compiled function {core.name!r} (capsule)>")

    def at(self, x: Any) -> CompiledPrepared:
        """Return the function at ``x``, its length checked (finiteness: in the kernels)."""
        arr = as_point(x, check_finite=False)
        n, core = arr.shape[0], self.core
        fixed, least = int(core.fixed_size), int(core.min_size)
        if fixed and n != fixed:
            raise ValueError(f"x must have length {fixed} for {core.name}, got {n}")
        if n < least:
            raise ValueError(f"x must have length >= {least} for {core.name}, got {n}")
        return CompiledPrepared(self, arr)


class CompiledPrepared(BuiltinPrepared):
    """A compiled function at a point."""

    source: CompiledSource

    def value(self) -> float | None:  # type: ignore[override]
        if not self.source.core.has_value:
            return None
        return super().value()
