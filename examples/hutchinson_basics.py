"""Hutchinson's diagonal estimate on a scalar, a multivariate and a batched function.

The first source document's three examples, redone: there each HVP is a forward
difference of a JAX gradient, and the probes are drawn one at a time in Python; here the
gradient is plain NumPy, hessprobe draws the Rademacher probes (bitwise reproducible by
seed) and takes the finite-difference HVPs eight at a time.

Run: ``python examples/hutchinson_basics.py [--plot diag.png]``
"""

from __future__ import annotations

import numpy as np
from _show import plot, show

import hessprobe as hp


# 1. f(x) = x^3 + 2 x^2 + 5 x + 1 at x = 2: f'' = 6 x + 4 = 16.
def scalar_grad(x):
    """Return f'(x)."""
    return 3 * x**2 + 4 * x + 5


est = hp.hutchinson_diag(hp.Gradient(scalar_grad, scheme="forward"), [2.0], hvps=100, seed=0)
show("scalar estimate", est.value)
show("scalar exact", 6 * 2.0 + 4)


# 2. f(x) = sum x^2 + 2 sum sin(x): H = diag(2 - 2 sin x), so every probe is exact (the
# estimate's variance is the sum of the squared off-diagonal entries: zero).
def multivariate_grad(x):
    """Return the gradient 2 x + 2 cos(x)."""
    return 2 * x + 2 * np.cos(x)


x = np.array([1.0, 2.0, 3.0])
est = hp.hutchinson_diag(multivariate_grad, x, hvps=100, seed=0)
show("multivariate estimate", est.value)
show("multivariate stderr", est.stderr)
show("multivariate exact", 2 - 2 * np.sin(x))

# 3. A batch of points (rows): the batch's total is a function of all rows at once whose
# Hessian is block diagonal, so one estimate over the flattened batch gives every row's
# diagonal.  The gradient takes the flat vector; reshape it back to rows.
X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
est = hp.hutchinson_diag(multivariate_grad, X.ravel(), hvps=100, seed=0)
show("batch estimate", est.value.reshape(X.shape))
show("batch exact", 2 - 2 * np.sin(X))

# The same with a Hessian that is not diagonal: the error shrinks like 1 / sqrt(probes).
f = hp.functions.rosenbrock()
x = np.linspace(-1.0, 1.5, 200)
exact = f.hessian_diag(x)
errors = []
for probes in (8, 32, 128, 512):
    est = hp.hutchinson_diag(f, x, hvps=probes, seed=0, structure="none")
    errors.append(float(np.linalg.norm(est.value - exact) / np.linalg.norm(exact)))
show("rosenbrock relative error at 8 32 128 512 probes", errors)

plot(lambda ax: (ax.loglog([8, 32, 128, 512], errors, "o-"), ax.set_xlabel("probes")))
