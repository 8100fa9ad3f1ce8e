"""A native gradient, ``scipy.LowLevelCallable``: called by the core from its threads, no GIL."""

from __future__ import annotations

from typing import Any

from .finite_difference import FiniteDifferenceScheme, FiniteDifferenceSource

__all__ = ["NativeSource", "is_low_level_callable"]


def is_low_level_callable(obj: Any) -> bool:
    """Whether ``obj`` is a ``scipy.LowLevelCallable``."""
    from scipy import LowLevelCallable

    return isinstance(obj, LowLevelCallable)


class NativeSource(FiniteDifferenceSource):
    """A LowLevelCallable ``int (npy_intp n, double *x, double *g, void *data)``.

    The core checks the capsule's signature when it first calls it (a ValueError listing
    the accepted ones).
    """

    def __init__(
        self, callable_: Any, scheme: FiniteDifferenceScheme = "central", step: float | None = None
    ):
        if scheme == "complex":
            raise ValueError("scheme='complex' needs a Python gradient; a native one is real")
        # A LowLevelCallable is a tuple whose item 0 is the capsule named by its signature.
        super().__init__(tuple.__getitem__(callable_, 0), False, scheme, step)
        self.callable = callable_

    def __repr__(self) -> str:
        return repr(self.callable)

    def with_options(self, scheme: str | None, step: float | None) -> NativeSource:
        if scheme is None and step is None:
            return self
        return NativeSource(
            self.callable,
            self.scheme if scheme is None else scheme,  # type: ignore[arg-type]
            self.step if step is None else step,
        )
