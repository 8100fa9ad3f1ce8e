"""The chained Wood function, compiled in this package's extension, as a hessprobe function.

>>> import numpy as np
>>> import hessprobe as hp
>>> import hessprobe_wood
>>> f = hessprobe_wood.chained_wood()
>>> hp.hessian_diag(f, np.ones(4))
array([802. , 220.2, 722. , 200.2])
"""

from __future__ import annotations

from _hessprobe_wood import chained_wood as _capsule

import hessprobe as hp

__all__ = ["chained_wood"]


def chained_wood() -> hp.CompiledFunction:
    """Return the chained Wood function (n even, n >= 4), exact HVPs at built-in speed."""
    return hp.compiled_function(_capsule())
