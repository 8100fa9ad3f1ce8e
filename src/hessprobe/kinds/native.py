"""A native gradient, ``scipy.LowLevelCallable``: called by the core from its threads, no GIL."""

from __future__ import annotations

from typing import Any

from .finite_difference import FiniteDifferenceScheme, FiniteDifferenceSource

__all__ = ["NativeFactory", "NativeSource", "is_low_level_callable"]


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


class NativeFactory:
    """A native gradient made where it is used: ``make()`` returns the LowLevelCallable.

    A ``scipy.LowLevelCallable`` holds a pointer into its process and cannot be pickled,
    so it cannot travel to the worker processes of an ``executor=``.  This wrapper
    travels instead (when ``make`` and ``args`` pickle: a module-level function, a
    ``functools.partial``) and calls ``make(*args)`` once in every process that prepares
    it, the caller's included, to build the callable there.

    Parameters
    ----------
    make : callable
        ``make(*args) -> scipy.LowLevelCallable``: for example a function that imports
        a compiled module (ctypes, cffi, numba ``cfunc``) and wraps its gradient.
    *args
        Its arguments.
    scheme, step : optional
        Finite-difference options, as for a LowLevelCallable source.
    """

    def __init__(
        self,
        make: Any,
        *args: Any,
        scheme: FiniteDifferenceScheme = "central",
        step: float | None = None,
    ) -> None:
        if not callable(make):
            raise TypeError(f"make must be callable, got {type(make).__name__}")
        self.make, self.args, self.scheme, self.step = make, args, scheme, step

    def __repr__(self) -> str:
        name = getattr(self.make, "__qualname__", repr(self.make))
        return f"hessprobe.NativeFactory({name})"

    def __hessprobe_source__(self) -> NativeSource:
        """Build the LowLevelCallable in this process and return it as a source."""
        made = self.make(*self.args)
        if not is_low_level_callable(made):
            raise TypeError(
                f"{self!r}: make() must return a scipy.LowLevelCallable, got {type(made).__name__}"
            )
        return NativeSource(made, self.scheme, self.step)
