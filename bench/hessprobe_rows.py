"""hessprobe's own rows, its peak memory and its error against probes.

The only bench module that calls the hessprobe API (also inside MEM_SCRIPT, which runs in a
fresh subprocess): a renamed argument is an edit of this file alone.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from harness import Bench, TimedGrad, fmt_n, perf, relerr, say
from machine import Native
from problem import (
    NBLOCK,
    PROBES,
    TASK_BLOCK,
    TASK_DIAG,
    TASK_FD,
    TASK_GRAD,
    TASK_HUTCH,
    TASK_HVP,
    Problem,
    rosen_der_rows,
    rosen_diag,
)
from scipy.optimize import rosen_der


def import_hessprobe(b: Bench) -> Any:
    """hessprobe, with hp.info() in b.machine["hessprobe"]; None when it does not import."""
    try:
        import hessprobe as hp
    except Exception as e:
        say(f"cannot import hessprobe: {type(e).__name__}: {e}")
        return None
    try:
        b.machine["hessprobe"] = dict(hp.info())
    except Exception as e:
        b.hp_errors.append(f"hp.info(): {e}")
        b.machine["hessprobe"] = {}
    say(f"hessprobe {b.machine['hessprobe'].get('version', '?')}: {b.machine['hessprobe']}")
    return hp


USER_SOURCE = Path(__file__).resolve().parent / "csrc" / "user_rosenbrock.cpp"
_compiled: dict[str, Any] = {}


def compile_user_function(b: Bench, hp: Any) -> Any:
    """bench/csrc/user_rosenbrock.cpp through hp.compile_gradient (once a run), or None."""
    if "f" in _compiled:
        return _compiled["f"]
    _compiled["f"] = None
    if not hasattr(hp, "compile_gradient"):
        return None
    t0 = perf()
    try:
        f = hp.compile_gradient(USER_SOURCE.read_text(), function="UserRosenbrock")
    except hp.CompileError as e:  # no compiler: the environment, not hessprobe
        b.note(f"compile_gradient unavailable ({str(e).splitlines()[0]}); its rows are skipped")
        return None
    except Exception as e:
        b.hp_errors.append(f"hp.compile_gradient(user_rosenbrock.cpp): {type(e).__name__}: {e}")
        return None
    b.note(
        f"user C++ Rosenbrock (bench/csrc/user_rosenbrock.cpp) via hp.compile_gradient: "
        f"{perf() - t0:.2f} s to compile or load from the cache"
    )
    _compiled["f"] = f
    return f


def hutchinson_diag(hp: Any, source: Any, x: np.ndarray, probes: int, threads: int) -> Any:
    """The one Hutchinson call of the bench (seed 0)."""
    return hp.hutchinson_diag(source, x, hvps=probes, seed=0, threads=threads, structure="none")


class HessprobeRows:
    """hessprobe's rows of each task at one size; the first row of a task is its baseline."""

    def __init__(self, b: Bench, hp: Any, p: Problem, native: Native) -> None:
        self.b, self.hp, self.p, self.llc = b, hp, p, native.llc
        self.f = None
        try:
            self.f = hp.functions.rosenbrock()
        except Exception as e:
            b.hp_errors.append(f"hp.functions.rosenbrock(): {e}")
        self.user = compile_user_function(b, hp)

    def adder(self, task: str) -> Any:
        return self.b.adder(task, self.p.n, "hessprobe")

    def threads(self) -> list[int]:
        return sorted({1, self.b.threads_all})

    def gradient(self) -> None:
        f, p = self.f, self.p
        add = self.adder(TASK_GRAD)
        add("hessprobe f.grad(x)", "hp_grad", lambda: f.grad(p.x), err=p.e_g, baseline=True)

    def hvp(self) -> None:
        hp, f, p = self.hp, self.f, self.p
        x, v = p.x, p.v
        add = self.adder(TASK_HVP)
        add("hessprobe f.hvp(x, v)", "hp_hvp", lambda: f.hvp(x, v), err=p.e_hv, baseline=True)
        hv = np.empty_like(v)
        add(
            "hessprobe f.hvp(x, v, out=hv), hv reused",
            "hp_hvp_out",
            lambda: f.hvp(x, v, out=hv),
            err=p.e_hv,
        )
        for th in self.threads():
            add(
                f"hessprobe hp.hvp(f, x, v, threads={th})",
                f"hp_hvp_t{th}",
                lambda th=th: hp.hvp(f, x, v, threads=th),
                err=p.e_hv,
            )
        if self.user is not None:
            u = self.user
            add(
                "hessprobe compile_gradient user C++ u.hvp(x, v)",
                "hp_cxx_hvp",
                lambda: u.hvp(x, v),
                err=p.e_hv,
            )

    def block(self) -> None:
        f, p = self.f, self.p
        x, V8 = p.x, p.V8
        add = self.adder(TASK_BLOCK)
        add(
            f"hessprobe f.hvp(x, V) with V ({NBLOCK}, n)",
            "hp_blk",
            lambda: f.hvp(x, V8),
            err=p.e_blk,
            baseline=True,
        )
        HV = np.empty_like(V8)
        add(
            "hessprobe f.hvp(x, V, out=HV), HV reused",
            "hp_blk_out",
            lambda: f.hvp(x, V8, out=HV),
            err=p.e_blk,
        )
        add(
            f"hessprobe {NBLOCK} x f.hvp(x, v) (Python loop)",
            "hp_blk_loop",
            lambda: np.stack([f.hvp(x, r) for r in V8]),
            err=p.e_blk,
        )

        def loop_out() -> Any:
            for k in range(NBLOCK):
                f.hvp(x, V8[k], out=HV[k])
            return HV

        add(
            f"hessprobe {NBLOCK} x f.hvp(x, v, out=HV[k]) (Python loop, reused)",
            "hp_blk_loop_out",
            loop_out,
            err=p.e_blk,
        )
        if self.user is not None:
            u = self.user
            add(
                f"hessprobe compile_gradient user C++ u.hvp(x, V) with V ({NBLOCK}, n)",
                "hp_cxx_blk",
                lambda: u.hvp(x, V8),
                err=p.e_blk,
            )

    def fd(self) -> None:
        hp, p = self.hp, self.p
        x, v = p.x, p.v
        add = self.adder(TASK_FD)
        add(
            "hessprobe hp.hvp(rosen_der, x, v) central",
            "hp_fd_cen",
            lambda: hp.hvp(rosen_der, x, v),
            err=p.e_hv,
            baseline=True,
        )
        add(
            "hessprobe hp.hvp(rosen_der, x, v, scheme='forward')",
            "hp_fd_fwd",
            lambda: hp.hvp(rosen_der, x, v, scheme="forward"),
            err=p.e_hv,
        )
        if self.llc is not None:
            add(
                "hessprobe hp.hvp(LowLevelCallable C gradient)",
                "hp_fd_llc",
                lambda: hp.hvp(self.llc, x, v),
                err=p.e_hv,
            )

    def hutchinson(self) -> None:
        hp, f, p = self.hp, self.f, self.p
        x, T = p.x, self.b.threads_all
        add = self.adder(TASK_HUTCH)

        def hutch(source: Any, threads: int) -> Any:
            return hutchinson_diag(hp, source, x, PROBES, threads)

        add(
            f"hessprobe hutchinson_diag(f, threads={T})",
            f"hp_hutch_t{T}",
            lambda: hutch(f, T),
            err=p.e_d,
            baseline=True,
        )
        if T != 1:
            add(
                "hessprobe hutchinson_diag(f, threads=1)",
                "hp_hutch_t1",
                lambda: hutch(f, 1),
                err=p.e_d,
            )
        if self.user is not None:
            for th in sorted(self.threads(), reverse=True):
                add(
                    f"hessprobe compile_gradient user C++, threads={th}",
                    f"hp_cxx_hutch_t{th}",
                    lambda th=th: hutch(self.user, th),
                    err=p.e_d,
                    note="exact: the engines compiled in the user's .so",
                )
        if self.llc is not None:
            for th in self.threads():
                add(
                    f"hessprobe LowLevelCallable C gradient (FD), threads={th}",
                    f"hp_hutch_llc_t{th}",
                    lambda th=th: hutch(self.llc, th),
                    err=p.e_d,
                )
        tg = TimedGrad(rosen_der)
        for th in self.threads():
            self.fd_probing(tg, th)
        add(
            "hessprobe Gradient(rosen_der_rows, vectorized=True) (FD)",
            "hp_hutch_vec",
            lambda: hutch(hp.Gradient(rosen_der_rows, vectorized=True), T),
            err=p.e_d,
        )

    def diagonal(self) -> None:
        """The exact diagonal with no structure given: the built-in's band from the core, and
        SciPy's unmodified ``rosen_der`` whose tridiagonal pattern hessprobe detects (once per
        function and n: the cached rows reuse it, the first-call row traces a fresh wrapper
        each time)."""
        hp, f, p = self.hp, self.f, self.p
        x = p.x
        add = self.adder(TASK_DIAG)
        dual = hp.Gradient(rosen_der, scheme="dual")
        add(
            "hessprobe hp.hessian_diag(Gradient(rosen_der, scheme='dual'), x), pattern cached",
            "hp_diag_dual",
            lambda: hp.hessian_diag(dual, x),
            err=p.e_d,
            baseline=True,
            note="pattern detected from rosen_der's NumPy code",
        )
        add(
            "hessprobe hp.hessian_diag(rosen_der, x) central FD, pattern cached",
            "hp_diag_fd",
            lambda: hp.hessian_diag(rosen_der, x),
            err=p.e_d,
        )

        def first_call() -> Any:
            fresh = hp.Gradient(lambda z: rosen_der(z), scheme="dual")  # a new cache key
            return hp.hessian_diag(fresh, x)

        add(
            "hessprobe first call: trace rosen_der, colour, dual HVPs",
            "hp_diag_first",
            first_call,
            err=p.e_d,
            note="includes detecting the pattern",
        )
        add(
            "hessprobe f.hessian_diag(x) built-in (band from the core)",
            "hp_diag_builtin",
            lambda: f.hessian_diag(x),
            err=p.e_d,
        )
        d = np.empty_like(x)
        add(
            "hessprobe f.hessian_diag(x, out=d) built-in, d reused",
            "hp_diag_builtin_out",
            lambda: f.hessian_diag(x, out=d),
            err=p.e_d,
        )

    def fd_probing(self, tg: TimedGrad, th: int) -> None:
        """Probing the Python rosen_der, with the share of wall time spent outside its calls."""
        fr: list[float] = []
        calls: list[int] = []

        def run() -> Any:
            tg.reset()
            t0 = perf()
            r = hutchinson_diag(self.hp, tg, self.p.x, PROBES, th)
            total = perf() - t0
            fr.append(1.0 - tg.inside / total)
            calls.append(tg.calls)
            return r

        def after(row: dict[str, Any]) -> None:
            k = len(row["samples"])
            row["outside_fraction"] = statistics.median(fr[-k:]) if fr else None
            row["calls"] = calls[-1] if calls else None
            row["note"] = (
                f"{row['outside_fraction'] * 100:.1f}% of time outside rosen_der; "
                f"{row['calls']} calls"
            )

        self.adder(TASK_HUTCH)(
            f"hessprobe Python callable rosen_der (FD), threads={th}",
            f"hp_hutch_py_t{th}",
            run,
            err=self.p.e_d,
            after=after,
        )


# -------------------------------------------------------------------- memory (fresh subprocess)
MEM_SCRIPT = r"""
import ctypes, json, sys
import numpy as np, scipy
import hessprobe as hp
n, threads, kind, so = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
if kind == "builtin":
    src = hp.functions.rosenbrock()
else:
    lib = ctypes.CDLL(so); fn = lib.rosen_grad; fn.restype = ctypes.c_int
    P = ctypes.POINTER(ctypes.c_double)
    fn.argtypes = [ctypes.c_long, P, P, ctypes.c_void_p]
    src = scipy.LowLevelCallable(fn, signature="int (npy_intp, double *, double *, void *)")
def status():
    d = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmHWM", "VmRSS")):
                k, v = line.split(":"); d[k] = int(v.split()[0]) * 1024
    return d
x = np.random.default_rng(0).uniform(-2.0, 2.0, n)
# load the code, start the threads
hp.hutchinson_diag(src, x[:1000].copy(), hvps=16, seed=0, threads=threads)
reset = True
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS (Linux >= 4.0)
except OSError:
    reset = False
before = status()
est = hp.hutchinson_diag(src, x, hvps=100, seed=0, threads=threads)
after = status()
print(json.dumps({"before": before, "after": after, "reset": reset}))
"""


def memory_check(b: Bench, native: Native) -> None:
    """Peak extra memory of a 100-probe Hutchinson diagonal at the largest n, per source and
    thread count, each in a fresh subprocess (VmHWM after the call minus VmRSS before it)."""
    n = b.sizes[-1]
    b.phase(f"peak extra memory (fresh subprocess, VmHWM), n = {fmt_n(n)}")
    if not os.path.exists("/proc/self/status"):
        b.note("no /proc/self/status: memory rows skipped")
        return
    kinds = ["builtin"] + (["llc"] if native.llc is not None and not b.quick else [])
    for kind in kinds:
        for th in sorted({1, b.threads_all}):
            try:
                b.memory.append(memory_row(n, th, kind, native))
            except Exception as e:
                msg = f"memory check {kind} threads={th}: {type(e).__name__}: {e}"
                say(f"  ERROR {msg}")
                b.hp_errors.append(msg)


def memory_row(n: int, th: int, kind: str, native: Native) -> dict[str, Any]:
    so = str(native.path or "")
    p = subprocess.run(
        [sys.executable, "-c", MEM_SCRIPT, str(n), str(th), kind, so],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if p.returncode != 0:
        err = p.stderr.strip()
        raise RuntimeError(err.splitlines()[-1] if err else f"exit {p.returncode}")
    d = json.loads(p.stdout.strip().splitlines()[-1])
    delta = d["after"]["VmHWM"] - d["before"]["VmRSS"]
    row = {
        "n": n,
        "source": kind,
        "threads": th,
        "delta_bytes": delta,
        "per_thread_vectors": delta / th / (8 * n),
        "scratch_vectors": (delta - 16 * n) / (8 * n),
        "budget_bytes": 16 * n * 8 * th,
        "reset": d["reset"],
    }
    say(
        f"  {kind:8s} threads={th}: peak extra {delta / 2**20:.1f} MiB = "
        f"{row['per_thread_vectors']:.2f} n-vectors per thread "
        "(the output itself: 2 n-vectors)"
    )
    return row


# -------------------------------------------------------------------- error against probes
def error_curve(b: Bench, hp: Any) -> None:
    """Relative error of the Hutchinson diagonal against probes (exact HVPs and Python FD)."""
    n = 1000 if b.quick else 10_000
    ms = [1, 4, 16, 64] if b.quick else [1, 4, 16, 64, 256, 1024, 4096, 16384]
    fd_max = 64 if b.quick else 1024
    b.phase(f"Hutchinson error against probes, n = {fmt_n(n)}")
    x = np.random.default_rng(20260 + n).uniform(-2.0, 2.0, n)
    d_ref = rosen_diag(x)
    f = hp.functions.rosenbrock()
    curve: dict[str, Any] = {
        "n": n,
        "probes": ms,
        "exact": [],
        "exact_stderr": [],
        "fd": [],
        "fd_probes": [],
    }
    try:
        for m in ms:
            est = hutchinson_diag(hp, f, x, m, b.threads_all)
            curve["exact"].append(relerr(est.value, d_ref))
            se = np.asarray(est.stderr, dtype=float)
            curve["exact_stderr"].append(
                float(np.linalg.norm(se) / np.linalg.norm(d_ref))
                if np.all(np.isfinite(se))
                else None
            )
            line = f"  probes={m:6d}: rel. error {curve['exact'][-1]:.3e} (exact HVPs)"
            if m <= fd_max:
                est2 = hutchinson_diag(hp, rosen_der, x, m, b.threads_all)
                curve["fd"].append(relerr(est2.value, d_ref))
                curve["fd_probes"].append(m)
                line += f", {curve['fd'][-1]:.3e} (Python FD)"
            say(line)
    except Exception as e:
        msg = f"error curve: {type(e).__name__}: {e}"
        say(f"  ERROR {msg}")
        b.hp_errors.append(msg)
    b.errcurve = curve
