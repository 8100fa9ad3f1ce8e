"""NumPy's large temporaries reused while the core calls a user's NumPy gradient.

Every NumPy operation in a gradient allocates its result; at n = 10^6 each is 8 MB or
more, and glibc returns such blocks to the OS and faults them in again at the next call,
so a finite-difference HVP of SciPy's ``rosen_der`` spent a fifth of its time in page
faults that a plain NumPy loop does not (its heap happens to stay warm).  Around the
core's calls of a Python gradient NumPy allocates through the reusing handler of
``hessprobe._dual`` (cpp/dual_numpy/memory.hpp: NEP 49, context-local, blocks kept up
to 1 GiB for the next call), as around its calls on dual arrays (kinds/dual.py).  Worker
threads of ``threads > 1`` allocate as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .. import _dual

__all__ = ["reused_numpy_memory"]


@contextmanager
def reused_numpy_memory() -> Iterator[None]:
    """Let NumPy reuse large freed blocks in this context until the block ends."""
    token = _dual.reuse_begin()
    try:
        yield
    finally:
        _dual.reuse_end(token)
