"""Pearlmutter's trick checked against ``scipy.optimize.rosen_hess``, then Hutchinson.

The second source document computes H v = d/dx (g(x) . v) with JAX in float32 and finds
an error of 5e-4; here the built-in Rosenbrock runs its gradient on dual numbers (exact
to rounding, float64), and a finite-difference HVP of ``rosen_der`` is shown beside it.

Run: ``python examples/pearlmutter_check.py [--plot diag.png]``
"""

from __future__ import annotations

import numpy as np
from _show import plot, show
from scipy.optimize import rosen_der, rosen_hess

import hessprobe as hp

x = np.array([2.2, 0.21])
direction = np.array([1.2, 3.1])
f = hp.functions.rosenbrock()

gold = rosen_hess(x) @ direction
show("rosen_hess(x) @ v", gold)
show("exact HVP - gold", f.hvp(x, direction) - gold)
show("central-difference HVP - gold", hp.hvp(rosen_der, x, direction) - gold)

# Hutchinson's diagonal from 30 probes, as in the document (exact: 5726, 200).  The
# off-diagonal entry -880 is the noise; the standard error says how much.
est = hp.hutchinson_diag(f, x, hvps=30, seed=0, structure="none")
show("exact diagonal", np.diag(rosen_hess(x)))
show("30-probe estimate", est.value)
show("30-probe stderr", est.stderr)

# And at n = 10^6, where forming rosen_hess is out of the question: 2 HVPs (the
# tridiagonal Hessian coloured) give the exact diagonal.
big = np.linspace(-1.0, 1.5, 1_000_000)
d = hp.hessian_diag(f, big)
show("n = 10^6: first three diagonal entries", d[:3])
show(
    "n = 10^6: max |diag - rosen_hess diagonal| on the first 1000",
    np.abs(d[:1000] - np.diag(rosen_hess(big[:1001]))[:1000]).max(),
)

plot(lambda ax: ax.errorbar([0, 1], est.value, 2 * est.stderr, fmt="o", label="estimate"))
