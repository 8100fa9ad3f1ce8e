"""AdaHessian and a trust-region method, both driven by Hessian-vector products.

The second source document closes with "the adahessian method" and "applying
Hessian-by-backprop to trust region methods: TODO".  Here both run on the extended
Rosenbrock function: AdaHessian (Yao et al. 2021) scales its steps by a Hutchinson
estimate of the Hessian's diagonal; SciPy's ``trust-krylov`` solves each trust-region
subproblem by Krylov iterations that only need H p, given by ``hp.hessp``.

Run: ``python examples/optimize_with_hvps.py [--plot history.png]``
"""

from __future__ import annotations

import numpy as np
from _show import plot, show
from scipy.optimize import minimize, rosen, rosen_der

import hessprobe as hp

f = hp.functions.rosenbrock()

# AdaHessian from the classic start, in 10 dimensions: a diagonal preconditioner crawls
# along Rosenbrock's curved valley (one Hutchinson probe a step), but gets there.
x0 = np.tile([-1.2, 1.0], 5)
ada = hp.optim.AdaHessian(lr=1.0).minimize(f, x0, maxiter=3000)
show("AdaHessian steps", ada.nit)
show("AdaHessian f", ada.fun)
show("AdaHessian max |x - 1|", np.abs(ada.x - 1).max())

# Trust region (trust-krylov) with exact HVPs, in 100 dimensions.
x0 = np.tile([-1.2, 1.0], 50)
tr = minimize(rosen, x0, jac=rosen_der, hessp=hp.hessp(f), method="trust-krylov")
show("trust-krylov success", tr.success)
show("trust-krylov iterations", tr.nit)
show("trust-krylov f", tr.fun)
show("trust-krylov max |x - 1|", np.abs(tr.x - 1).max())

# The same with finite-difference HVPs of your own gradient (hp.hessp(rosen_der)).
fd = minimize(rosen, x0, jac=rosen_der, hessp=hp.hessp(rosen_der), method="trust-krylov")
show("trust-krylov (FD HVPs) max |x - 1|", np.abs(fd.x - 1).max())

plot(lambda ax: (ax.semilogy(ada.history["fun"]), ax.set_xlabel("AdaHessian step")))
