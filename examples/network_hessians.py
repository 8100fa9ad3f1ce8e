"""The Hessian of a small network's loss, exactly and by its classic approximations.

The third source document (after Bishop 2006, ch. 5.4) lists the diagonal approximation
(Optimal Brain Damage), the outer-product / Gauss-Newton (Levenberg-Marquardt)
approximation, Pearlmutter's exact Hessian-vector product and the full Hessian from the
columns H e_i.  Here they are for a NumPy network with one tanh hidden layer and a mean
square loss, L(w) = 1/2 sum_i (y_hat_i - y_i)^2, whose gradient is written by hand
(backpropagation).  hessprobe calls that unmodified NumPy gradient on dual numbers
(``scheme="dual"``): HVPs exact to rounding, 8 directions a call, no step to tune.  The
gradient also takes complex input, so the complex step checks them independently.

Run: ``python examples/network_hessians.py [--plot hessian.png]``
"""

from __future__ import annotations

import numpy as np
from _show import plot, show
from scipy.optimize import minimize

import hessprobe as hp

rng = np.random.default_rng(0)
INPUTS, HIDDEN, SAMPLES = 2, 3, 40
X = rng.standard_normal((SAMPLES, INPUTS))
Y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
SIZES = (HIDDEN * INPUTS, HIDDEN, HIDDEN, 1)  # W1, b1, w2, b2


def unpack(w):
    """Split the parameter vector into W1, b1, w2, b2."""
    W1, b1, w2, b2 = np.split(w, np.cumsum(SIZES)[:-1])
    return W1.reshape(HIDDEN, INPUTS), b1, w2, b2[0]


def residuals(w):
    """y_hat - y for every sample."""
    W1, b1, w2, b2 = unpack(w)
    return np.tanh(X @ W1.T + b1) @ w2 + b2 - Y


def jacobian(w):
    """Return d y_hat_i / d w, one row per sample (backpropagation)."""
    W1, b1, w2, _ = unpack(w)
    H = np.tanh(X @ W1.T + b1)
    dA = (1 - H**2) * w2  # d y_hat / d (pre-activation)
    dW1 = dA[:, :, None] * X[:, None, :]
    return np.hstack([dW1.reshape(SAMPLES, -1), dA, H, np.ones((SAMPLES, 1))])


def gradient(w):
    """dL/dw = J' r."""
    return jacobian(w).T @ residuals(w)


exact = hp.Gradient(gradient, scheme="dual")  # dual numbers: rounding error only

# Train first (a trust-region method on the exact HVPs), so that the residuals are small,
# as the outer-product approximation assumes.
start = 0.5 * rng.standard_normal(sum(SIZES))
fit = minimize(
    lambda w: 0.5 * residuals(w) @ residuals(w),
    start,
    jac=gradient,
    hessp=hp.hessp(exact),
    method="trust-krylov",
)
w = fit.x
show("loss at the start and after training", [0.5 * residuals(start) @ residuals(start), fit.fun])

# The full Hessian from its columns H e_i (13 HVPs).
H = hp.hessian(exact, w)
show("parameters", w.size)
show("Hessian symmetry max |H - H'|", np.abs(H - H.T).max())

# One exact HVP against a column combination of H.
v = rng.standard_normal(w.size)
show("max |HVP - H v| / max |H v|", np.abs(hp.hvp(exact, w, v) - H @ v).max() / np.abs(H @ v).max())
complex_step = hp.hvp(hp.Gradient(gradient, scheme="complex"), w, v)
show(
    "max |dual HVP - complex-step HVP| / max |HVP|",
    np.abs(hp.hvp(exact, w, v) - complex_step).max() / np.abs(complex_step).max(),
)

# Outer product / Gauss-Newton: J'J drops sum_i r_i Hess(y_hat_i), small where the fit is good.
G = hp.gauss_newton(residuals, w, jacobian).dense()
H0 = hp.hessian(exact, start)
G0 = hp.gauss_newton(residuals, start, jacobian).dense()
show(
    "Gauss-Newton relative error ||J'J - H|| / ||H|| at the start",
    np.linalg.norm(G0 - H0) / np.linalg.norm(H0),
)
show(
    "Gauss-Newton relative error ||J'J - H|| / ||H|| trained",
    np.linalg.norm(G - H) / np.linalg.norm(H),
)
show("Gauss-Newton smallest eigenvalue (PSD)", np.linalg.eigvalsh(G)[0])
show("Hessian smallest eigenvalue", np.linalg.eigvalsh(H)[0])

# Diagonal approximation (Optimal Brain Damage): the diagonal exactly (one HVP per
# parameter here, no structure to colour), or estimated by Hutchinson from fewer probes.
d = hp.hessian_diag(exact, w)
show("max |diagonal - diag(H)|", np.abs(d - np.diag(H)).max())
est = hp.hutchinson_diag(exact, w, hvps=400, seed=0)
show(
    "Hutchinson 400 probes: max |estimate - diag(H)| / stderr",
    (np.abs(est.value - np.diag(H)) / est.stderr).max(),
)
off = np.linalg.norm(H - np.diag(np.diag(H))) / np.linalg.norm(H)
show("share of ||H|| off the diagonal", off)

plot(lambda ax: ax.imshow(H, cmap="RdBu_r"))
