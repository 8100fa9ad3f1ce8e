"""The rows of the alternatives that need no autodiff framework: SciPy's closed forms, NumPy
(hand-vectorised HVPs, finite differences), numdifftools, and the hand-written C reference."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from harness import Bench, fmt_n
from machine import Native, Toolchain
from problem import (
    NBLOCK,
    PROBES,
    TASK_BLOCK,
    TASK_FD,
    TASK_GRAD,
    TASK_HUTCH,
    TASK_HVP,
    Problem,
    rosen_hvp_rows,
)
from scipy.optimize import rosen_der, rosen_hess_prod


class Alternatives:
    """SciPy, NumPy, numdifftools (``nd``, None when absent) and C rows at one size."""

    def __init__(self, b: Bench, p: Problem, nd: Any, native: Native, tc: Toolchain) -> None:
        self.b, self.p, self.nd, self.native, self.tc = b, p, nd, native, tc

    def adder(self, task: str, lib: str) -> Any:
        return self.b.adder(task, self.p.n, lib)

    # ---------------------------------------------------------------- SciPy
    def scipy_gradient(self) -> None:
        x = self.p.x
        add = self.adder(TASK_GRAD, "scipy")
        add("SciPy rosen_der(x)", "scipy_grad", lambda: rosen_der(x), err=self.p.e_g)

    def scipy_hvp(self) -> None:
        x, v = self.p.x, self.p.v
        add = self.adder(TASK_HVP, "scipy")
        add(
            "SciPy rosen_hess_prod(x, v)",
            "scipy_hvp",
            lambda: rosen_hess_prod(x, v),
            err=self.p.e_hv,
        )

    def scipy_block(self) -> None:
        x, V8 = self.p.x, self.p.V8
        add = self.adder(TASK_BLOCK, "scipy")
        add(
            f"SciPy {NBLOCK} x rosen_hess_prod",
            "scipy_blk",
            lambda: np.stack([rosen_hess_prod(x, r) for r in V8]),
            err=self.p.e_blk,
        )

    # ---------------------------------------------------------------- numdifftools
    def numdifftools_hvp(self) -> None:
        nd, p = self.nd, self.p
        if nd is None:
            return
        x, v, n = p.x, p.v, p.n
        add = self.adder(TASK_HVP, "numdifftools")
        if n <= 100:
            add(
                "numdifftools Jacobian(rosen_der)(x) @ v",
                "nd_jac",
                lambda: nd.Jacobian(rosen_der)(x) @ v,
                err=p.e_hv,
                cold_ok=True,
            )
        else:
            self.b.note(
                f"n={fmt_n(n)}: numdifftools Jacobian(rosen_der) @ v skipped "
                "(O(n^2); 12 s at n=1000)"
            )
        if n <= 10_000 or not self.b.quick:
            add(
                "numdifftools Derivative(t -> rosen_der(x + t v))(0)",
                "nd_dir",
                lambda: nd.Derivative(lambda s: rosen_der(x + s * v))(0.0),
                err=p.e_hv,
                cold_ok=True,
            )

    # ---------------------------------------------------------------- NumPy
    def numpy_block(self) -> None:
        x, V8 = self.p.x, self.p.V8
        add = self.adder(TASK_BLOCK, "numpy")
        add(
            f"NumPy hand-vectorised HVP on the ({NBLOCK}, n) block",
            "numpy_blk",
            lambda: rosen_hvp_rows(x, V8),
            err=self.p.e_blk,
        )

    def numpy_fd(self) -> None:
        """Central and forward differences of rosen_der, with the steps of hessprobe's FD."""
        x, v = self.p.x, self.p.v
        eps = np.finfo(np.float64).eps
        nx, nv = float(np.linalg.norm(x)), float(np.linalg.norm(v))
        h_fwd = math.sqrt(eps) * (1.0 + nx) / nv
        h_cen = eps ** (1.0 / 3.0) * (1.0 + nx) / nv
        add = self.adder(TASK_FD, "numpy")
        add(
            "NumPy central FD of rosen_der (2 calls)",
            "numpy_fd_cen",
            lambda: (rosen_der(x + h_cen * v) - rosen_der(x - h_cen * v)) / (2.0 * h_cen),
            err=self.p.e_hv,
        )
        add(
            "NumPy forward FD of rosen_der (2 calls)",
            "numpy_fd_fwd",
            lambda: (rosen_der(x + h_fwd * v) - rosen_der(x)) / h_fwd,
            err=self.p.e_hv,
        )

    def numpy_hutchinson(self) -> None:
        x, V = self.p.x, self.p.probes

        def numpy_block() -> Any:
            D = V * rosen_hvp_rows(x, V)
            return D.mean(axis=0), D.std(axis=0, ddof=1) / math.sqrt(PROBES)

        add = self.adder(TASK_HUTCH, "numpy")
        add(
            f"NumPy hand-vectorised HVP on the ({PROBES}, n) probe block",
            "numpy_hutch",
            lambda: numpy_block()[0],
            err=self.p.e_d,
            note="probes pre-drawn (not timed)",
        )

    # ---------------------------------------------------------------- hand-written C
    def c_reference(self) -> None:
        """csrc/hutch_ref.c, a separate process that reads the same x from a file."""
        if self.native.llc is None:
            return
        n, T = self.p.n, self.b.threads_all
        xfile = self.tc.tmp / f"x{n}.bin"
        self.p.x.tofile(xfile)
        add = self.adder(TASK_HUTCH, "C")
        for isa, exe in self.native.hutch_ref.items():
            if exe is None:
                continue
            add(
                f"hand-written C, closed-form Rosenbrock ({isa} ISA), threads={T}",
                f"cref_{isa}",
                None,
                timer=lambda exe=exe: self.time_cref(exe, xfile, T),
                err=lambda r: r,
                note="reference, not a library",
            )

    def time_cref(self, exe: Path, xfile: Path, th: int) -> tuple[float, list[float], Any]:
        n = self.p.n
        reps = "3" if self.b.quick else ("5" if n >= 1_000_000 else "25")
        out = self.tc.run(exe, [str(n), str(PROBES), reps, str(xfile)], th)
        med, err = float(out[0]), float(out[2])
        return med, [med], err
