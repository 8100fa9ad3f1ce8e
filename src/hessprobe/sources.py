"""What a ``source`` is: resolved once here, into one of the kinds of :mod:`hessprobe.kinds`.

Every public function that takes a ``source`` calls :func:`resolve` (or :func:`prepare`,
with the point) and hands the result to its engine, which uses only the operations of
:class:`~hessprobe.kinds.base.Prepared`.  The kinds, in the order they are recognised:

* an object with a ``__hessprobe_source__()`` method returning a
  :class:`~hessprobe.kinds.base.Source` (the built-ins of :mod:`hessprobe.functions`:
  exact HVPs by dual numbers);
* a PyCapsule of a compiled function (``hessprobe::make_capsule``, see
  :mod:`hessprobe.compiled`: exact HVPs by the engines inside the user's shared object);
* a :class:`Tangent`, or a ``scipy.LowLevelCallable`` with the tangent-callback
  signature (a native gradient with its own exact tangents, see
  :mod:`hessprobe.kinds.tangent`);
* a ``scipy.LowLevelCallable`` (a native gradient: finite differences in the core), or
  a :class:`NativeFactory` that builds one where it is prepared (it pickles, so it can
  travel to an executor's workers);
* a :class:`Gradient`, or any other callable, taken as ``Gradient(fn)``: finite
  differences of a Python gradient, or with ``scheme="dual"`` its exact HVPs from one
  call on dual numbers (:mod:`hessprobe.kinds.dual`).

Examples
--------
>>> import numpy as np
>>> from scipy.optimize import rosen_der
>>> import hessprobe as hp
>>> from hessprobe.sources import prepare
>>> p = prepare(hp.functions.rosenbrock(), np.ones(4))
>>> p.n, p.exact, p.bandwidth
(4, True, 1)
>>> q = prepare(rosen_der, np.ones(4))
>>> q.exact, q.bandwidth
(False, None)
>>> bool(np.allclose(q.hvp(np.eye(4), threads=1), p.hvp(np.eye(4), threads=1)))
True
"""

from __future__ import annotations

from typing import Any

from numpy.typing import ArrayLike

from .kinds import dual as _dual_kind  # noqa: F401  (enters scheme="dual")
from .kinds.base import Prepared, Source
from .kinds.compiled import CompiledSource, is_compiled_capsule
from .kinds.gradient import Gradient, Scheme, gradient_source
from .kinds.native import NativeFactory, NativeSource, is_low_level_callable
from .kinds.tangent import Tangent, TangentSource, is_tangent_callable

__all__ = [
    "Gradient",
    "NativeFactory",
    "Prepared",
    "Scheme",
    "Source",
    "Tangent",
    "prepare",
    "resolve",
]


def resolve(source: Any, scheme: Scheme | None = None, step: float | None = None) -> Source:
    """Return the :class:`~hessprobe.kinds.base.Source` that ``source`` stands for.

    ``scheme`` and ``step`` override a gradient's finite-difference options; for an
    exact source they are an error.
    """
    if isinstance(source, Source):
        kind = source
    elif hasattr(type(source), "__hessprobe_source__"):
        kind = source.__hessprobe_source__()
    elif is_compiled_capsule(source):
        kind = CompiledSource.from_capsule(source)
    elif isinstance(source, Tangent):
        kind = TangentSource(source)
    elif is_tangent_callable(source):
        kind = TangentSource(Tangent(source))
    elif is_low_level_callable(source):
        kind = NativeSource(source)
    elif isinstance(source, Gradient):
        kind = gradient_source(source)
    elif callable(source):
        kind = gradient_source(Gradient(source))
    else:
        raise TypeError(
            "source must be a hessprobe built-in or compiled function, a gradient callable, "
            "hessprobe.Gradient, hessprobe.Tangent or scipy.LowLevelCallable; "
            f"got {type(source).__name__}"
        )
    return kind.with_options(scheme, step)


def prepare(
    source: Any, x: ArrayLike, scheme: Scheme | None = None, step: float | None = None
) -> Prepared:
    """Return ``source`` (resolved as by :func:`resolve`) prepared at the point ``x``."""
    return resolve(source, scheme, step).at(x)
