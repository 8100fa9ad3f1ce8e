#!/usr/bin/env python
"""hessprobe benchmark: exact HVPs and Hutchinson probing against the alternatives, side by side.

Usage::

    python bench/run.py            # full run: Rosenbrock n = 100, 10^4, 10^6 (a few minutes)
    python bench/run.py --quick    # smoke run: n = 100, 1000, few repeats (seconds)
    python bench/run.py --out DIR  # where results.md, results.json and the PNGs go
                                   # (default: bench/results)

Everything is measured in ONE process, so every ratio compares numbers taken minutes apart on
the same machine state.  JAX, PyTorch, numdifftools and matplotlib are optional: a method whose
library does not import is skipped with a printed note.  A C compiler (``cc``) is needed for the
machine-bound probes, the native LowLevelCallable gradient and the hand-written C reference;
without one those rows are skipped too.

Exit code: 0 when every hessprobe row ran (targets MISSed are reported, not fatal); 1 when
hessprobe cannot be imported or one of its rows raised (a missing feature or a bug).  With
``--strict`` an alternative's runtime error (not a missing import) is fatal as well.
See bench/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as _dt
import importlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]
from scipy.optimize import rosen_der, rosen_hess, rosen_hess_prod

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"
PROBES = 100  # Hutchinson probes in the side-by-side rows (the issues' setting)
NBLOCK = 8  # directions in the "block of HVPs" rows
perf = time.perf_counter


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def say(*a: Any) -> None:
    print(*a, flush=True)


def relerr(a: Any, ref: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    den = float(np.linalg.norm(ref))
    return float(np.linalg.norm(a - ref) / (den if den > 0 else 1.0))


def fmt_t(t: float | None) -> str:
    if t is None or not math.isfinite(t):
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1.0:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def fmt_x(r: float | None) -> str:
    if r is None or not math.isfinite(r):
        return "-"
    return f"{r:.3g}x" if r < 100 else f"{r:.0f}x"


def fmt_e(e: float | None) -> str:
    if e is None or not math.isfinite(e):
        return "-"
    return f"{e:.1e}"


def fmt_n(n: int) -> str:
    return f"{n:,}"


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


def md_row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def rosen_diag(x: np.ndarray) -> np.ndarray:
    """Exact diagonal of the extended Rosenbrock Hessian (scipy.optimize.rosen)."""
    d = np.empty_like(x)
    d[0] = 1200.0 * x[0] ** 2 - 400.0 * x[1] + 2.0
    d[1:-1] = 202.0 + 1200.0 * x[1:-1] ** 2 - 400.0 * x[2:]
    d[-1] = 200.0
    return d


def rosen_hvp_rows(x: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Hand-vectorised NumPy HVP of Rosenbrock on an (m, n) block of directions."""
    H = np.empty_like(V)
    H[:, 0] = (1200.0 * x[0] ** 2 - 400.0 * x[1] + 2.0) * V[:, 0] - 400.0 * x[0] * V[:, 1]
    H[:, 1:-1] = (
        -400.0 * x[:-2] * V[:, :-2]
        + (202.0 + 1200.0 * x[1:-1] ** 2 - 400.0 * x[2:]) * V[:, 1:-1]
        - 400.0 * x[1:-1] * V[:, 2:]
    )
    H[:, -1] = -400.0 * x[-2] * V[:, -2] + 200.0 * V[:, -1]
    return H


def rosen_der_rows(X: np.ndarray) -> np.ndarray:
    """rosen_der applied to each row of a (k, n) block (for hp.Gradient(vectorized=True))."""
    G = np.empty_like(X)
    xm, xl, xr = X[:, 1:-1], X[:, :-2], X[:, 2:]
    G[:, 1:-1] = 200.0 * (xm - xl**2) - 400.0 * (xr - xm**2) * xm - 2.0 * (1.0 - xm)
    G[:, 0] = -400.0 * X[:, 0] * (X[:, 1] - X[:, 0] ** 2) - 2.0 * (1.0 - X[:, 0])
    G[:, -1] = 200.0 * (X[:, -1] - X[:, -2] ** 2)
    return G


class TimedGrad:
    """Wraps a Python gradient; records the wall-clock interval of every call.

    The time "inside the user's gradient" is the length of the union of the intervals, so
    calls that overlap (hessprobe threads > 1 while NumPy has released the GIL) count once.
    """

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        self.fn = fn
        self.intervals: list[tuple[float, float]] = []

    def reset(self) -> None:
        self.intervals = []

    @property
    def calls(self) -> int:
        return len(self.intervals)

    @property
    def inside(self) -> float:
        total, end = 0.0, -math.inf
        for a, b in sorted(self.intervals):
            if a > end:
                total += b - a
                end = b
            elif b > end:
                total += b - end
                end = b
        return total

    def __call__(self, x: np.ndarray) -> np.ndarray:
        t0 = perf()
        try:
            return self.fn(x)
        finally:
            self.intervals.append((t0, perf()))  # list.append is atomic under the GIL


def rademacher(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    return rng.integers(0, 2, size=(m, n), dtype=np.int8).astype(np.float64) * 2.0 - 1.0


# --------------------------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.quick: bool = args.quick
        self.strict: bool = args.strict
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.sizes = [100, 1000] if self.quick else [100, 10_000, 1_000_000]
        if args.sizes:
            self.sizes = sorted(int(float(t)) for t in args.sizes.split(","))
        self.ncores = os.cpu_count() or 1
        self.threads_all = self.ncores  # "all cores"; this machine's targets compare 2 with 1
        self.rows: list[dict[str, Any]] = []
        self.last_faults: float | None = None
        self.notes: list[str] = []
        self.hp_errors: list[str] = []
        self.alt_errors: list[str] = []
        self.machine: dict[str, Any] = {}
        self.bounds: list[dict[str, Any]] = []
        self.memory: list[dict[str, Any]] = []
        self.targets: list[dict[str, Any]] = []
        self.errcurve: dict[str, Any] = {}
        self.tmp = Path(tempfile.mkdtemp(prefix="hessprobe-bench-"))
        self.cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
        self.t_start = perf()
        # timing policy
        if self.quick:
            self.budget, self.min_rep, self.max_rep, self.max_single = 0.03, 2, 5, 0.25
        else:
            self.budget, self.min_rep, self.max_rep, self.max_single = 1.0, 5, 25, 2.5

    # ---------------------------------------------------------------- notes / imports
    def phase(self, what: str) -> None:
        say(f"\n== {what} ==   [{perf() - self.t_start:.1f} s]")

    def note(self, msg: str) -> None:
        say(f"  note: {msg}")
        self.notes.append(msg)

    def optional(self, name: str, what: str = "its rows are skipped") -> Any:
        try:
            return importlib.import_module(name)
        except Exception as e:  # ImportError, or a broken install
            self.note(f"{name} not available ({type(e).__name__}: {e}); {what}")
            return None

    # ---------------------------------------------------------------- timing
    def timeit(
        self, fn: Callable[[], Any], cold_ok: bool = False
    ) -> tuple[float, list[float], Any]:
        """(first call, per-call samples, last result).  Warm-up first; median of repeats.

        Calls under 1 ms are batched so that each sample lasts about 1 ms.  A call longer
        than max_single gets one warm sample after its warm-up (the first call of a jitted
        XLA executable at n = 10^6 page-faults its buffers in: 2.7 s against 0.95 s warm for
        the JAX scan); with cold_ok (no caches to warm: numdifftools) the warm-up is the sample.
        """
        t0 = perf()
        res = fn()
        first = perf() - t0
        if first > self.max_single:
            if cold_ok:
                return first, [first], res
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0
            t0 = perf()
            res = fn()
            t1 = perf() - t0
            if resource:
                self.last_faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            return first, [t1], res
        est = first
        if first < 0.2:  # a second warm-up call for cheap functions (caches, page faults)
            t0 = perf()
            res = fn()
            est = min(first, perf() - t0)
        inner = 1
        if est < 1e-3:
            inner = int(min(1000, max(1, 1e-3 / max(est, 1e-7))))
        min_rep = self.min_rep if est < 0.2 else min(self.min_rep, 3)
        reps = int(min(self.max_rep, max(min_rep, self.budget / max(est * inner, 1e-9))))
        samples = []
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0
        for _ in range(reps):
            t0 = perf()
            for _ in range(inner):
                res = fn()
            samples.append((perf() - t0) / inner)
        if resource:
            flt = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            self.last_faults = flt / (reps * inner)
        return first, samples, res

    def add(
        self,
        task: str,
        method: str,
        n: int,
        fn: Callable[[], Any] | None,
        *,
        lib: str,
        err: Callable[[Any], float] | None = None,
        baseline: bool = False,
        compile_fn: Callable[[], Any] | None = None,
        note: str = "",
        key: str = "",
        after: Callable[[dict[str, Any]], None] | None = None,
        timer: Callable[[], tuple[float, list[float], Any]] | None = None,
        cold_ok: bool = False,
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "task": task,
            "method": method,
            "lib": lib,
            "n": n,
            "baseline": baseline,
            "note": note,
            "key": key or method,
            "median": None,
            "first": None,
            "samples": [],
            "compile": None,
            "err": None,
            "status": "ok",
        }
        self.last_faults = None
        try:
            if compile_fn is not None:
                t0 = perf()
                fn = compile_fn()
                row["compile"] = perf() - t0
            if timer is not None:
                first, samples, res = timer()
            else:
                assert fn is not None
                first, samples, res = self.timeit(fn, cold_ok=cold_ok)
            row["first"], row["samples"] = first, samples
            row["page_faults_per_call"] = self.last_faults
            row["median"] = statistics.median(samples)
            if err is not None:
                row["err"] = err(res)
            if after is not None:
                after(row)
        except Exception as e:  # report, keep going
            msg = f"{type(e).__name__}: {e}".splitlines()[0][:200]
            row["status"] = "error: " + msg
            say(f"  ERROR in {lib} / {method} (n={n}): {msg}")
            if os.environ.get("HESSPROBE_BENCH_TRACEBACK"):
                traceback.print_exc()
            (self.hp_errors if lib == "hessprobe" else self.alt_errors).append(
                f"{task} / {method} (n={n}): {msg}"
            )
        self.rows.append(row)
        if row["status"] == "ok":
            extra = f"  compile {fmt_t(row['compile'])}" if row["compile"] is not None else ""
            if row.get("page_faults_per_call") is not None:
                extra += f"  faults/call {row['page_faults_per_call']:.0f}"
            say(
                f"  {task[:28]:<28} {method[:58]:<58} {fmt_t(row['median']):>10}"
                f"  err {fmt_e(row['err']):>8}{extra}  [{perf() - self.t_start:.1f} s]"
            )
        return row

    def find(self, n: int, key: str) -> dict[str, Any] | None:
        for r in self.rows:
            if r["n"] == n and r["key"] == key and r["status"] == "ok":
                return r
        return None

    def t(self, n: int, key: str) -> float | None:
        r = self.find(n, key)
        return None if r is None else r["median"]

    # ---------------------------------------------------------------- C helpers
    def compile_c(self, name: str, flags: list[str], out: str, shared: bool = False) -> Path | None:
        if self.cc is None:
            return None
        dst = self.tmp / out
        cmd = [self.cc, "-O3", *flags, str(CSRC / f"{name}.c"), "-o", str(dst)]
        if shared:
            cmd[2:2] = ["-shared", "-fPIC"]
        cmd.append("-lm")
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            self.note(f"compiling {name}.c failed ({' '.join(cmd)}): {p.stderr.strip()[:300]}")
            return None
        return dst

    def run_c(self, exe: Path, args: list[str], threads: int) -> list[str]:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_PROC_BIND="false")
        p = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"{exe.name} failed: {p.stderr.strip()[:300]}")
        return p.stdout.split()

    # ---------------------------------------------------------------- machine
    def machine_info(self) -> None:
        info: dict[str, Any] = {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpu_count": self.ncores,
            "loadavg_start": loadavg(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        }
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
            for line in out.splitlines():
                k, _, v = line.partition(":")
                if k.strip() in (
                    "Model name",
                    "CPU(s)",
                    "Thread(s) per core",
                    "Core(s) per socket",
                    "L2 cache",
                    "L3 cache",
                    "Hypervisor vendor",
                ):
                    info[k.strip()] = v.strip()
        except Exception:
            pass
        try:
            for line in open("/proc/meminfo"):
                if line.startswith("MemTotal"):
                    info["MemTotal"] = line.split(":")[1].strip()
        except Exception:
            pass
        self.machine.update(info)

    def machine_bound(self) -> None:
        self.phase("machine: STREAM-like triad and float64 FLOP rate")
        if self.cc is None:
            self.note("no C compiler found: machine-bound rows are skipped")
            return
        stream = self.compile_c("stream", ["-fopenmp"], "stream")
        flops = self.compile_c("flops", ["-fopenmp"], "flops")
        flops_nat = self.compile_c("flops", ["-fopenmp", "-march=native"], "flops_native")
        tlist = sorted({1, self.threads_all})
        big = 2_000_000 if self.quick else 1 << 25
        reps = "3" if self.quick else "10"
        iters = "2000000" if self.quick else "50000000"
        bw: dict[str, float] = {}
        gf: dict[str, float] = {}
        try:
            if stream is not None:
                for th in tlist:
                    best = float(self.run_c(stream, [str(big), reps], th)[0])
                    bw[f"dram_t{th}"] = 24.0 * big / best
                    say(
                        f"  triad {fmt_n(big)} doubles/array, {th} thread(s): "
                        f"{bw[f'dram_t{th}'] / 1e9:.1f} GB/s"
                    )
                for n in self.sizes:
                    if n < 10_000:
                        continue
                    r = "200" if n <= 100_000 else "50"
                    best = float(self.run_c(stream, [str(n), r], self.threads_all)[0])
                    bw[f"n{n}"] = 24.0 * n / best
                    say(
                        f"  triad at n={fmt_n(n)} (24n bytes, cache-resident when small), "
                        f"{self.threads_all} threads: {bw[f'n{n}'] / 1e9:.1f} GB/s"
                    )
            for exe, isa in ((flops, "baseline"), (flops_nat, "native")):
                if exe is None:
                    continue
                for th in tlist:
                    gf[f"{isa}_t{th}"] = float(self.run_c(exe, [iters], th)[0]) * 1e9
                    say(
                        f"  float64 peak ({isa} ISA), {th} thread(s): "
                        f"{gf[f'{isa}_t{th}'] / 1e9:.1f} GFLOP/s"
                    )
        except Exception as e:
            self.note(f"machine probe failed: {e}")
        self.machine["bandwidth"] = bw
        self.machine["flops"] = gf

    # ---------------------------------------------------------------- main
    def run(self) -> int:
        self.machine_info()
        try:
            import hessprobe as hp
        except Exception as e:
            say(f"cannot import hessprobe: {type(e).__name__}: {e}")
            return 1
        self.hp = hp
        try:
            self.machine["hessprobe"] = dict(hp.info())
        except Exception as e:
            self.hp_errors.append(f"hp.info(): {e}")
            self.machine["hessprobe"] = {}
        say(
            f"hessprobe {self.machine['hessprobe'].get('version', '?')}: "
            f"{self.machine['hessprobe']}"
        )

        self.jax = self.optional("jax")
        if self.jax is not None:
            try:
                self.jax.config.update("jax_enable_x64", True)
                import jax.numpy as jnp

                self.jnp = jnp
                self.machine["jax"] = self.jax.__version__
                self.machine["jax_backend"] = self.jax.default_backend()
                self.note(
                    f"JAX {self.jax.__version__} on {self.jax.default_backend()}: float64 "
                    "(jax_enable_x64), XLA's default intra-op threading (all cores); compile "
                    "time measured apart (AOT lower().compile())"
                )
            except Exception as e:
                self.note(f"jax unusable ({e}); its rows are skipped")
                self.jax = None
        self.torch = self.optional("torch")
        if self.torch is not None:
            try:
                self.torch.set_num_threads(self.threads_all)
                self.machine["torch"] = self.torch.__version__
                self.machine["torch_threads"] = self.torch.get_num_threads()
                # torch.func's first use costs seconds of one-time set-up; keep it out of the rows
                from torch.func import grad as _g
                from torch.func import jvp as _j
                from torch.func import vmap as _v

                t0 = perf()
                z = self.torch.ones(4, dtype=self.torch.float64)
                _v(lambda w: _j(_g(lambda y: (y**3).sum()), (z,), (w,))[1])(
                    self.torch.eye(4, dtype=self.torch.float64)
                )
                self.torch.autograd.functional.hvp(lambda y: (y**3).sum(), z, z)
                self.note(
                    f"PyTorch: one-time torch.func set-up took {perf() - t0:.2f} s before the "
                    "timed rows (not counted)"
                )
            except Exception as e:
                self.note(f"torch unusable ({e}); its rows are skipped")
                self.torch = None
        self.nd = self.optional("numdifftools")
        if self.nd is not None:
            self.machine["numdifftools"] = self.nd.__version__
        tpc = self.optional("threadpoolctl", "BLAS/OpenMP thread pools not recorded")
        if tpc is not None:
            try:
                self.machine["threadpools"] = [
                    {k: d.get(k) for k in ("internal_api", "num_threads", "version")}
                    for d in tpc.threadpool_info()
                ]
            except Exception:
                pass

        say(f"imports done [{perf() - self.t_start:.1f} s]")
        self.machine_bound()
        self.build_native()
        for n in self.sizes:
            self.run_size(n)
            self.compute_bounds(n)
        self.memory_check()
        self.error_curve()
        self.evaluate_targets()
        self.phase("writing the table, the JSON and the plots")
        self.machine["wall_seconds"] = perf() - self.t_start
        self.machine["loadavg_end"] = loadavg()
        self.write()
        say(f"done [{perf() - self.t_start:.1f} s]")
        if self.hp_errors:
            say("\nhessprobe rows that failed:")
            for e in self.hp_errors:
                say(f"  {e}")
            return 1
        if self.strict and self.alt_errors:
            return 1
        return 0

    # ---------------------------------------------------------------- native gradient
    def build_native(self) -> None:
        self.llc = None
        so = self.compile_c("rosen_grad", [], "librosen_grad.so", shared=True)
        if so is None:
            self.note("native gradient not built (no C compiler): LowLevelCallable rows skipped")
            return
        self.llc_path = so
        lib = ctypes.CDLL(str(so))
        fn = lib.rosen_grad
        fn.restype = ctypes.c_int
        fn.argtypes = [
            ctypes.c_long,
            ctypes.POINTER(ctypes.c_double),
            ctypes.POINTER(ctypes.c_double),
            ctypes.c_void_p,
        ]
        self._llc_lib = lib
        self.llc = scipy.LowLevelCallable(
            fn, signature="int (npy_intp, double *, double *, void *)"
        )
        self.hutch_ref = {
            "baseline": self.compile_c("hutch_ref", ["-fopenmp"], "hutch_ref"),
            "native": self.compile_c(
                "hutch_ref", ["-fopenmp", "-march=native"], "hutch_ref_native"
            ),
        }

    # ---------------------------------------------------------------- one size
    def run_size(self, n: int) -> None:
        hp = self.hp
        T = self.threads_all
        self.phase(f"Rosenbrock n = {fmt_n(n)}")
        rng = np.random.default_rng(20260 + n)
        x = rng.uniform(-2.0, 2.0, n)
        v = rng.standard_normal(n)
        V8 = rng.standard_normal((NBLOCK, n))
        g_ref = rosen_der(x)
        hv_ref = rosen_hess_prod(x, v)
        blk_ref = np.stack([rosen_hess_prod(x, r) for r in V8])
        d_ref = rosen_diag(x)
        if n <= 1000:
            assert np.allclose(np.diag(rosen_hess(x)), d_ref, rtol=1e-13, atol=0)

        def e_g(r: Any) -> float:
            return relerr(r, g_ref)

        def e_hv(r: Any) -> float:
            return relerr(r, hv_ref)

        def e_blk(r: Any) -> float:
            r = np.asarray(r)
            return max(relerr(r[k], blk_ref[k]) for k in range(NBLOCK))

        def e_d(r: Any) -> float:
            return relerr(getattr(r, "value", r), d_ref)

        f = None
        try:
            f = hp.functions.rosenbrock()
        except Exception as e:
            self.hp_errors.append(f"hp.functions.rosenbrock(): {e}")

        # ---------------- gradient
        TG = "gradient"
        self.add(
            TG,
            "hessprobe f.grad(x)",
            n,
            lambda: f.grad(x),
            lib="hessprobe",
            err=e_g,
            baseline=True,
            key="hp_grad",
        )
        self.add(
            TG,
            "SciPy rosen_der(x)",
            n,
            lambda: rosen_der(x),
            lib="scipy",
            err=e_g,
            key="scipy_grad",
        )
        if self.jax is not None:
            jax, jnp = self.jax, self.jnp
            xj, vj, V8j = jnp.asarray(x), jnp.asarray(v), jnp.asarray(V8)

            def fj(z: Any) -> Any:
                return jnp.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2)

            def hvp_fr(z: Any, w: Any) -> Any:  # forward-over-reverse
                return jax.jvp(jax.grad(fj), (z,), (w,))[1]

            def hvp_rf(z: Any, w: Any) -> Any:  # reverse-over-forward
                return jax.grad(lambda y: jax.jvp(fj, (y,), (w,))[1])(z)

            def hvp_rr(z: Any, w: Any) -> Any:  # reverse-over-reverse
                return jax.grad(lambda y: jnp.vdot(jax.grad(fj)(y), w))(z)

            def aot(fun: Any, *a: Any) -> Callable[[], Callable[[], Any]]:
                def build() -> Callable[[], Any]:
                    c = jax.jit(fun).lower(*a).compile()
                    return lambda: c(*a).block_until_ready()

                return build

            self.add(
                TG,
                "JAX jit(grad(f))",
                n,
                None,
                lib="jax",
                err=e_g,
                compile_fn=aot(jax.grad(fj), xj),
                key="jax_grad",
            )
        if self.torch is not None:
            torch = self.torch
            from torch.func import grad as tgrad
            from torch.func import jvp as tjvp
            from torch.func import vmap as tvmap

            xt, vt, V8t = (
                torch.from_numpy(x.copy()),
                torch.from_numpy(v.copy()),
                torch.from_numpy(V8.copy()),
            )

            def ft(z: Any) -> Any:
                return torch.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2)

            def hvp_t(z: Any, w: Any) -> Any:
                return tjvp(tgrad(ft), (z,), (w,))[1]

            self.add(
                TG,
                "PyTorch torch.func.grad(f) (eager)",
                n,
                lambda: tgrad(ft)(xt),
                lib="torch",
                err=lambda r: e_g(r.numpy()),
                key="torch_grad",
            )

        # ---------------- one HVP
        TH = "HVP, 1 direction"
        self.add(
            TH,
            "hessprobe f.hvp(x, v)",
            n,
            lambda: f.hvp(x, v),
            lib="hessprobe",
            err=e_hv,
            baseline=True,
            key="hp_hvp",
        )
        for th in sorted({1, T}):
            self.add(
                TH,
                f"hessprobe hp.hvp(f, x, v, threads={th})",
                n,
                lambda th=th: hp.hvp(f, x, v, threads=th),
                lib="hessprobe",
                err=e_hv,
                key=f"hp_hvp_t{th}",
            )
        self.add(
            TH,
            "SciPy rosen_hess_prod(x, v)",
            n,
            lambda: rosen_hess_prod(x, v),
            lib="scipy",
            err=e_hv,
            key="scipy_hvp",
        )
        if self.jax is not None:
            self.add(
                TH,
                "JAX jit(jvp(grad(f))) fwd-over-rev",
                n,
                None,
                lib="jax",
                err=e_hv,
                compile_fn=aot(hvp_fr, xj, vj),
                key="jax_hvp_fr",
            )
            self.add(
                TH,
                "JAX jit(grad(jvp(f))) rev-over-fwd",
                n,
                None,
                lib="jax",
                err=e_hv,
                compile_fn=aot(hvp_rf, xj, vj),
                key="jax_hvp_rf",
            )
            self.add(
                TH,
                "JAX jit(grad(grad(f).v)) rev-over-rev",
                n,
                None,
                lib="jax",
                err=e_hv,
                compile_fn=aot(hvp_rr, xj, vj),
                key="jax_hvp_rr",
            )
        if self.torch is not None:
            self.add(
                TH,
                "PyTorch torch.func.jvp(grad(f))",
                n,
                lambda: hvp_t(xt, vt),
                lib="torch",
                err=lambda r: e_hv(r.numpy()),
                key="torch_hvp_func",
            )
            self.add(
                TH,
                "PyTorch torch.autograd.functional.hvp",
                n,
                lambda: torch.autograd.functional.hvp(ft, xt, vt)[1],
                lib="torch",
                err=lambda r: e_hv(r.numpy()),
                key="torch_hvp_autograd",
            )
        if self.nd is not None:
            nd = self.nd
            if n <= 100:
                self.add(
                    TH,
                    "numdifftools Jacobian(rosen_der)(x) @ v",
                    n,
                    lambda: nd.Jacobian(rosen_der)(x) @ v,
                    lib="numdifftools",
                    err=e_hv,
                    key="nd_jac",
                    cold_ok=True,
                )
            else:
                self.note(
                    f"n={fmt_n(n)}: numdifftools Jacobian(rosen_der) @ v skipped "
                    "(O(n^2); 12 s at n=1000)"
                )
            if n <= 10_000 or not self.quick:
                self.add(
                    TH,
                    "numdifftools Derivative(t -> rosen_der(x + t v))(0)",
                    n,
                    lambda: nd.Derivative(lambda s: rosen_der(x + s * v))(0.0),
                    lib="numdifftools",
                    err=e_hv,
                    key="nd_dir",
                    cold_ok=True,
                )

        # ---------------- block of 8 HVPs
        TB = f"HVP, block of {NBLOCK}"
        self.add(
            TB,
            f"hessprobe f.hvp(x, V) with V ({NBLOCK}, n)",
            n,
            lambda: f.hvp(x, V8),
            lib="hessprobe",
            err=e_blk,
            baseline=True,
            key="hp_blk",
        )
        self.add(
            TB,
            f"hessprobe {NBLOCK} x f.hvp(x, v) (Python loop)",
            n,
            lambda: np.stack([f.hvp(x, r) for r in V8]),
            lib="hessprobe",
            err=e_blk,
            key="hp_blk_loop",
        )
        self.add(
            TB,
            f"SciPy {NBLOCK} x rosen_hess_prod",
            n,
            lambda: np.stack([rosen_hess_prod(x, r) for r in V8]),
            lib="scipy",
            err=e_blk,
            key="scipy_blk",
        )
        self.add(
            TB,
            f"NumPy hand-vectorised HVP on the ({NBLOCK}, n) block",
            n,
            lambda: rosen_hvp_rows(x, V8),
            lib="numpy",
            err=e_blk,
            key="numpy_blk",
        )
        if self.jax is not None:
            self.add(
                TB,
                "JAX jit(vmap(jvp(grad(f))))",
                n,
                None,
                lib="jax",
                err=e_blk,
                compile_fn=aot(jax.vmap(hvp_fr, in_axes=(None, 0)), xj, V8j),
                key="jax_blk",
            )
        if self.torch is not None:
            self.add(
                TB,
                "PyTorch vmap(torch.func.jvp(grad(f)))",
                n,
                lambda: tvmap(lambda w: hvp_t(xt, w))(V8t),
                lib="torch",
                err=lambda r: e_blk(r.numpy()),
                key="torch_blk",
            )

        # ---------------- FD HVP from a gradient callback
        TF = "HVP from a gradient callback (FD)"
        eps = np.finfo(np.float64).eps
        nx, nv = float(np.linalg.norm(x)), float(np.linalg.norm(v))
        h_fwd = math.sqrt(eps) * (1.0 + nx) / nv
        h_cen = eps ** (1.0 / 3.0) * (1.0 + nx) / nv
        self.add(
            TF,
            "hessprobe hp.hvp(rosen_der, x, v) central",
            n,
            lambda: hp.hvp(rosen_der, x, v),
            lib="hessprobe",
            err=e_hv,
            baseline=True,
            key="hp_fd_cen",
        )
        self.add(
            TF,
            "hessprobe hp.hvp(rosen_der, x, v, scheme='forward')",
            n,
            lambda: hp.hvp(rosen_der, x, v, scheme="forward"),
            lib="hessprobe",
            err=e_hv,
            key="hp_fd_fwd",
        )
        if self.llc is not None:
            self.add(
                TF,
                "hessprobe hp.hvp(LowLevelCallable C gradient)",
                n,
                lambda: hp.hvp(self.llc, x, v),
                lib="hessprobe",
                err=e_hv,
                key="hp_fd_llc",
            )
        self.add(
            TF,
            "NumPy central FD of rosen_der (2 calls)",
            n,
            lambda: (rosen_der(x + h_cen * v) - rosen_der(x - h_cen * v)) / (2.0 * h_cen),
            lib="numpy",
            err=e_hv,
            key="numpy_fd_cen",
        )
        self.add(
            TF,
            "NumPy forward FD of rosen_der (2 calls)",
            n,
            lambda: (rosen_der(x + h_fwd * v) - rosen_der(x)) / h_fwd,
            lib="numpy",
            err=e_hv,
            key="numpy_fd_fwd",
        )

        # ---------------- Hutchinson diagonal, 100 probes
        TU = f"Hutchinson diag, {PROBES} probes"
        self.add(
            TU,
            f"hessprobe hutchinson_diag(f, threads={T})",
            n,
            lambda: hp.hutchinson_diag(f, x, probes=PROBES, seed=0, threads=T),
            lib="hessprobe",
            err=e_d,
            baseline=True,
            key=f"hp_hutch_t{T}",
        )
        if T != 1:
            self.add(
                TU,
                "hessprobe hutchinson_diag(f, threads=1)",
                n,
                lambda: hp.hutchinson_diag(f, x, probes=PROBES, seed=0, threads=1),
                lib="hessprobe",
                err=e_d,
                key="hp_hutch_t1",
            )
        if self.llc is not None:
            for th in sorted({1, T}):
                self.add(
                    TU,
                    f"hessprobe LowLevelCallable C gradient (FD), threads={th}",
                    n,
                    lambda th=th: hp.hutchinson_diag(
                        self.llc, x, probes=PROBES, seed=0, threads=th
                    ),
                    lib="hessprobe",
                    err=e_d,
                    key=f"hp_hutch_llc_t{th}",
                )
        tg = TimedGrad(rosen_der)
        for th in sorted({1, T}):
            self.add_fd_probing(TU, n, x, e_d, tg, th)
        self.add(
            TU,
            "hessprobe Gradient(rosen_der_rows, vectorized=True) (FD)",
            n,
            lambda: hp.hutchinson_diag(
                hp.Gradient(rosen_der_rows, vectorized=True), x, probes=PROBES, seed=0, threads=T
            ),
            lib="hessprobe",
            err=e_d,
            key="hp_hutch_vec",
        )
        # hand-written C reference (a separate process; same x through a file)
        if self.llc is not None:
            xfile = self.tmp / f"x{n}.bin"
            x.tofile(xfile)
            for isa, exe in self.hutch_ref.items():
                if exe is None:
                    continue
                self.add(
                    TU,
                    f"hand-written C, closed-form Rosenbrock ({isa} ISA), threads={T}",
                    n,
                    None,
                    lib="C",
                    key=f"cref_{isa}",
                    timer=lambda exe=exe, xfile=xfile: self.time_cref(exe, n, xfile, T),
                    err=lambda r: r,
                    note="reference, not a library",
                )
        Vnp = rademacher(np.random.default_rng(1), PROBES, n)  # pre-drawn probes (JAX, NumPy)
        if self.jax is not None:
            Vj = jnp.asarray(Vnp)

            def hutch_scan(z: Any, V: Any) -> Any:
                def body(c: Any, w: Any) -> Any:
                    d = w * hvp_fr(z, w)
                    return (c[0] + d, c[1] + d * d), None

                zero = jnp.zeros_like(z)
                (s1, s2), _ = jax.lax.scan(body, (zero, zero), V)
                m = V.shape[0]
                mu = s1 / m
                return mu, jnp.sqrt(jnp.maximum(s2 - m * mu * mu, 0.0) / (m - 1) / m)

            def hutch_scan_mean(z: Any, V: Any) -> Any:  # the issue's formulation: mean only
                def body(c: Any, w: Any) -> Any:
                    return c + w * hvp_fr(z, w), None

                s1, _ = jax.lax.scan(body, jnp.zeros_like(z), V)
                return s1 / V.shape[0], s1

            def hutch_vmap(z: Any, V: Any) -> Any:
                D = V * jax.vmap(hvp_fr, in_axes=(None, 0))(z, V)
                m = V.shape[0]
                return jnp.mean(D, axis=0), jnp.std(D, axis=0, ddof=1) / math.sqrt(m)

            def aot2(fun: Any) -> Callable[[], Callable[[], Any]]:
                def build() -> Callable[[], Any]:
                    c = jax.jit(fun).lower(xj, Vj).compile()

                    def call() -> Any:
                        r = c(xj, Vj)
                        jax.block_until_ready(r)
                        return r[0]

                    return call

                return build

            self.add(
                TU,
                "JAX jit(lax.scan(jvp(grad(f)))) over pre-drawn probes",
                n,
                None,
                lib="jax",
                err=e_d,
                compile_fn=aot2(hutch_scan),
                key="jax_hutch_scan",
                note="probes pre-drawn (not timed)",
            )
            self.add(
                TU,
                "JAX jit(lax.scan(jvp(grad(f)))), mean only (no stderr)",
                n,
                None,
                lib="jax",
                err=e_d,
                compile_fn=aot2(hutch_scan_mean),
                key="jax_hutch_scan_mean",
                note="probes pre-drawn (not timed); no stderr",
            )
            self.add(
                TU,
                "JAX jit(vmap(jvp(grad(f)))) over pre-drawn probes",
                n,
                None,
                lib="jax",
                err=e_d,
                compile_fn=aot2(hutch_vmap),
                key="jax_hutch_vmap",
                note="probes pre-drawn (not timed)",
            )

            def build_loop() -> Callable[[], Any]:
                c = jax.jit(hvp_fr).lower(xj, vj).compile()
                rows = [Vj[j] for j in range(PROBES)]

                def loop() -> Any:  # the seeds' formulation: mean of v * Hv, one probe at a time
                    acc = jnp.zeros_like(xj)
                    for w in rows:
                        acc = acc + w * c(xj, w)
                    return (acc / PROBES).block_until_ready()

                return loop

            self.add(
                TU,
                "JAX per-probe Python loop over jit(jvp(grad(f))) (seeds)",
                n,
                None,
                lib="jax",
                err=e_d,
                compile_fn=build_loop,
                key="jax_hutch_loop",
                note="mean only, as the seeds; probes pre-drawn",
            )
            del Vj

        def numpy_block() -> Any:
            D = Vnp * rosen_hvp_rows(x, Vnp)
            return D.mean(axis=0), D.std(axis=0, ddof=1) / math.sqrt(PROBES)

        self.add(
            TU,
            f"NumPy hand-vectorised HVP on the ({PROBES}, n) probe block",
            n,
            lambda: numpy_block()[0],
            lib="numpy",
            err=e_d,
            key="numpy_hutch",
            note="probes pre-drawn (not timed)",
        )

    def add_fd_probing(
        self, task: str, n: int, x: np.ndarray, e_d: Callable[[Any], float], tg: TimedGrad, th: int
    ) -> None:
        hp = self.hp
        fr: list[float] = []
        calls: list[int] = []

        def run() -> Any:
            tg.reset()
            t0 = perf()
            r = hp.hutchinson_diag(tg, x, probes=PROBES, seed=0, threads=th)
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

        self.add(
            task,
            f"hessprobe Python callable rosen_der (FD), threads={th}",
            n,
            run,
            lib="hessprobe",
            err=e_d,
            key=f"hp_hutch_py_t{th}",
            after=after,
        )

    def time_cref(self, exe: Path, n: int, xfile: Path, th: int) -> tuple[float, list[float], Any]:
        reps = "3" if self.quick else ("5" if n >= 1_000_000 else "25")
        out = self.run_c(exe, [str(n), str(PROBES), reps, str(xfile)], th)
        med, err = float(out[0]), float(out[2])
        return med, [med], err

    # ---------------------------------------------------------------- machine bounds
    def compute_bounds(self, n: int) -> None:
        bw = self.machine.get("bandwidth", {})
        gf = self.machine.get("flops", {})
        T = self.threads_all
        flags = str(self.machine.get("hessprobe", {}).get("flags", ""))
        simd = str(self.machine.get("hessprobe", {}).get("simd", ""))
        wide = ("march=native", "-mavx", "-mfma", "march=x86-64-v3")
        isa = "native" if simd.startswith("avx") or any(t in flags for t in wide) else "baseline"
        self.machine["hessprobe_isa"] = isa
        B_dram = bw.get(f"dram_t{T}")
        B_n = bw.get(f"n{n}", B_dram)
        F = gf.get(f"{isa}_t{T}")
        F1 = gf.get(f"{isa}_t1")
        if not B_dram or not F or n < 10_000:
            return
        # (name, hessprobe key, bytes, flops, threads used)
        kernels = [
            ("gradient f.grad", "hp_grad", 16 * n, 11 * n, T),
            ("exact HVP f.hvp (read x, v; write Hv)", "hp_hvp", 24 * n, 11 * n, T),
            (
                f"block of {NBLOCK} HVPs",
                "hp_blk",
                8 * n + NBLOCK * 16 * n,
                5 * n + NBLOCK * 6 * n,
                T,
            ),
            (
                f"Hutchinson {PROBES} probes, threads={T}",
                f"hp_hutch_t{T}",
                24 * n,
                7 * PROBES * n,
                T,
            ),
            (f"Hutchinson {PROBES} probes, threads=1", "hp_hutch_t1", 24 * n, 7 * PROBES * n, 1),
        ]
        for name, key, nbytes, nflops, th in kernels:
            t = self.t(n, key)
            fx = F1 if th == 1 else F
            # bandwidth: the better of the DRAM triad and the triad on arrays of this n (a
            # working set that fits in cache moves faster, so the bound stays a lower bound)
            b_dram = bw.get(f"dram_t{th}") or B_dram
            b_best = max(b_dram, B_n) if th == T else b_dram
            if t is None or not fx:
                continue
            t_mem = nbytes / b_best
            t_mem_dram = nbytes / b_dram
            t_flop = nflops / fx
            bound = max(t_mem, t_flop)
            self.bounds.append(
                {
                    "n": n,
                    "kernel": name,
                    "key": key,
                    "bytes": nbytes,
                    "flops": nflops,
                    "t_mem": t_mem,
                    "t_mem_dram": t_mem_dram,
                    "t_flop": t_flop,
                    "bound": bound,
                    "limit": "memory" if t_mem >= t_flop else "compute",
                    "t_hp": t,
                    "ratio": t / bound,
                    "ratio_dram": t / max(t_mem_dram, t_flop),
                    "isa": isa,
                }
            )

    # ---------------------------------------------------------------- memory (fresh subprocess)
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
hp.hutchinson_diag(src, x[:1000].copy(), probes=16, seed=0, threads=threads)
reset = True
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS (Linux >= 4.0)
except OSError:
    reset = False
before = status()
est = hp.hutchinson_diag(src, x, probes=100, seed=0, threads=threads)
after = status()
print(json.dumps({"before": before, "after": after, "reset": reset}))
"""

    def memory_check(self) -> None:
        n = self.sizes[-1]
        self.phase(f"peak extra memory (fresh subprocess, VmHWM), n = {fmt_n(n)}")
        if not os.path.exists("/proc/self/status"):
            self.note("no /proc/self/status: memory rows skipped")
            return
        kinds = ["builtin"] + (["llc"] if self.llc is not None and not self.quick else [])
        for kind in kinds:
            for th in sorted({1, self.threads_all}):
                try:
                    p = subprocess.run(
                        [
                            sys.executable,
                            "-c",
                            self.MEM_SCRIPT,
                            str(n),
                            str(th),
                            kind,
                            str(getattr(self, "llc_path", "")),
                        ],
                        capture_output=True,
                        text=True,
                        timeout=300,
                    )
                    if p.returncode != 0:
                        raise RuntimeError(
                            p.stderr.strip().splitlines()[-1]
                            if p.stderr.strip()
                            else f"exit {p.returncode}"
                        )
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
                    self.memory.append(row)
                    say(
                        f"  {kind:8s} threads={th}: peak extra {delta / 2**20:.1f} MiB = "
                        f"{row['per_thread_vectors']:.2f} n-vectors per thread "
                        "(the output itself: 2 n-vectors)"
                    )
                except Exception as e:
                    msg = f"memory check {kind} threads={th}: {type(e).__name__}: {e}"
                    say(f"  ERROR {msg}")
                    self.hp_errors.append(msg)

    # ---------------------------------------------------------------- error against probes
    def error_curve(self) -> None:
        hp = self.hp
        n = 1000 if self.quick else 10_000
        ms = [1, 4, 16, 64] if self.quick else [1, 4, 16, 64, 256, 1024, 4096, 16384]
        self.phase(f"Hutchinson error against probes, n = {fmt_n(n)}")
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
                est = hp.hutchinson_diag(f, x, probes=m, seed=0, threads=self.threads_all)
                curve["exact"].append(relerr(est.value, d_ref))
                se = np.asarray(est.stderr, dtype=float)
                curve["exact_stderr"].append(
                    float(np.linalg.norm(se) / np.linalg.norm(d_ref))
                    if np.all(np.isfinite(se))
                    else None
                )
                if m <= (64 if self.quick else 1024):
                    est2 = hp.hutchinson_diag(
                        rosen_der, x, probes=m, seed=0, threads=self.threads_all
                    )
                    curve["fd"].append(relerr(est2.value, d_ref))
                    curve["fd_probes"].append(m)
                say(
                    f"  probes={m:6d}: rel. error {curve['exact'][-1]:.3e} (exact HVPs)"
                    + (
                        f", {curve['fd'][-1]:.3e} (Python FD)"
                        if curve["fd_probes"] and curve["fd_probes"][-1] == m
                        else ""
                    )
                )
        except Exception as e:
            msg = f"error curve: {type(e).__name__}: {e}"
            say(f"  ERROR {msg}")
            self.hp_errors.append(msg)
        self.errcurve = curve

    # ---------------------------------------------------------------- targets
    def evaluate_targets(self) -> None:
        n = self.sizes[-1]
        T = self.threads_all
        where = f"n={fmt_n(n)}" + (" (quick run: NOT the target size 10^6)" if self.quick else "")
        tg: list[dict[str, Any]] = []

        def add(
            issue: str,
            what: str,
            value: float | None,
            op: str,
            goal: float,
            fmtv: Callable[[float], str] = lambda r: f"{r:.2f}x",
            detail: str = "",
            goal_shown: str = "",
        ) -> None:
            if value is None or not math.isfinite(value):
                status = "n/a"
            else:
                ok = value <= goal if op == "<=" else value >= goal
                status = "PASS" if ok else "MISS"
            tg.append(
                {
                    "issue": issue,
                    "target": what,
                    "value": value,
                    "shown": "-" if value is None else fmtv(value),
                    "goal": f"{op} {goal_shown or f'{goal:g}'}",
                    "status": status,
                    "detail": detail,
                }
            )

        def ratio(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None or b <= 0 else a / b

        t_hvp, t_grad = self.t(n, "hp_hvp"), self.t(n, "hp_grad")
        add(
            "#2",
            f"exact HVP / gradient (hessprobe), {where}",
            ratio(t_hvp, t_grad),
            "<=",
            2,
            detail=f"{fmt_t(t_hvp)} / {fmt_t(t_grad)}",
        )
        t_s = self.t(n, "scipy_hvp")
        add(
            "#2",
            "rosen_hess_prod / hessprobe exact HVP",
            ratio(t_s, t_hvp),
            ">=",
            4,
            detail=f"{fmt_t(t_s)} / {fmt_t(t_hvp)}",
        )
        jh = [(self.t(n, k), k) for k in ("jax_hvp_fr", "jax_hvp_rf", "jax_hvp_rr")]
        jh = [p for p in jh if p[0] is not None]
        if jh:
            tj, kj = min(jh)
            add(
                "#2",
                "best JAX jitted HVP / hessprobe exact HVP",
                ratio(tj, t_hvp),
                ">=",
                1,
                detail=f"{fmt_t(tj)} ({kj}) / {fmt_t(t_hvp)}",
            )
        else:
            add(
                "#2", "best JAX jitted HVP / hessprobe exact HVP (JAX not installed)", None, ">=", 1
            )
        t_b = self.t(n, "hp_blk")
        add(
            "#2",
            f"block of {NBLOCK} HVPs / one HVP (hessprobe)",
            ratio(t_b, t_hvp),
            "<=",
            3,
            detail=f"{fmt_t(t_b)} / {fmt_t(t_hvp)}",
        )
        t_h = self.t(n, f"hp_hutch_t{T}")
        jkeys = ("jax_hutch_scan", "jax_hutch_scan_mean", "jax_hutch_vmap", "jax_hutch_loop")
        jx = [(self.t(n, k), k) for k in jkeys]
        jx = [p for p in jx if p[0] is not None]
        if jx:
            tj, kj = min(jx)
            add(
                "#3",
                f"best JAX Hutchinson ({PROBES} probes) / hessprobe (threads={T})",
                ratio(tj, t_h),
                ">=",
                5,
                detail=f"{fmt_t(tj)} ({kj}) / {fmt_t(t_h)}",
            )
        else:
            add("#3", "best JAX Hutchinson / hessprobe (JAX not installed)", None, ">=", 5)
        t_h1 = self.t(n, "hp_hutch_t1")
        add(
            "#3",
            f"Hutchinson threads=1 / threads={T} (built-in)",
            ratio(t_h1, t_h),
            ">=",
            1.7,
            detail=f"{fmt_t(t_h1)} / {fmt_t(t_h)}",
        )
        t_l1, t_l2 = self.t(n, "hp_hutch_llc_t1"), self.t(n, f"hp_hutch_llc_t{T}")
        add(
            "#3",
            f"Hutchinson threads=1 / threads={T} (LowLevelCallable)",
            ratio(t_l1, t_l2),
            ">=",
            1.7,
            detail=f"{fmt_t(t_l1)} / {fmt_t(t_l2)}",
        )
        for m in self.memory:
            add(
                "#3",
                f"peak extra memory per thread / (16 n 8 B), {m['source']}, threads={m['threads']}",
                m["per_thread_vectors"] / 16.0,
                "<=",
                1.0,
                fmtv=lambda r: f"{r:.3f}",
                detail=f"{m['delta_bytes'] / 2**20:.1f} MiB total = "
                f"{m['per_thread_vectors']:.2f} n-vectors/thread",
            )
        r1 = self.find(n, "hp_hutch_py_t1")
        fr = None if r1 is None else r1.get("outside_fraction")
        add(
            "#3",
            "Python-callable FD probing: fraction of time outside rosen_der (threads=1)",
            fr,
            "<=",
            0.10,
            fmtv=lambda r: f"{r * 100:.1f}%",
            goal_shown="10%",
            detail=r1.get("note", "") if r1 else "",
        )
        b = [bd for bd in self.bounds if bd["n"] == n and bd["key"] == f"hp_hutch_t{T}"]
        add(
            "#5",
            f"Hutchinson kernel time / machine bound (threads={T})",
            b[0]["ratio"] if b else None,
            "<=",
            2,
            detail=(
                f"{fmt_t(b[0]['t_hp'])} / {fmt_t(b[0]['bound'])} "
                f"({b[0]['limit']}, {b[0]['isa']} ISA)"
                if b
                else "bound needs n >= 10^4 and a C compiler"
            ),
        )
        bh = [bd for bd in self.bounds if bd["n"] == n and bd["key"] == "hp_hvp"]
        add(
            "info",
            "exact HVP time / machine bound",
            bh[0]["ratio"] if bh else None,
            "<=",
            2,
            detail=(
                f"{fmt_t(bh[0]['t_hp'])} / {fmt_t(bh[0]['bound'])} ({bh[0]['limit']})" if bh else ""
            ),
        )
        self.targets = tg

    # ---------------------------------------------------------------- output
    def table_md(self) -> str:
        L: list[str] = []
        hpinfo = self.machine.get("hessprobe", {})
        m = self.machine
        when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        L.append(
            f"Command: `python bench/run.py{' --quick' if self.quick else ''}` · {when} · "
            f"wall {m.get('wall_seconds', 0):.0f} s · load average (1, 5, 15 min) "
            f"{m.get('loadavg_start')} at the start, {m.get('loadavg_end')} at the end"
        )
        L.append("")
        L.append(
            f"Machine: {m.get('Model name', platform.processor())}, {self.ncores} logical CPUs "
            f"(threads/core {m.get('Thread(s) per core', '?')}, L2 {m.get('L2 cache', '?')}, "
            f"L3 {m.get('L3 cache', '?')}, {m.get('MemTotal', '?')} RAM). "
            f"Python {m['python']}, NumPy {m['numpy']}, SciPy {m['scipy']}, "
            f"JAX {m.get('jax', 'absent')}, PyTorch {m.get('torch', 'absent')} "
            f"(threads {m.get('torch_threads', '-')}), "
            f"numdifftools {m.get('numdifftools', 'absent')}."
        )
        L.append("")
        L.append(
            f"hessprobe {hpinfo.get('version', '?')}: openmp={hpinfo.get('openmp')}, "
            f"threads={hpinfo.get('threads')}, lanes={hpinfo.get('lanes')}, "
            f"compiler={hpinfo.get('compiler')}, flags=`{hpinfo.get('flags')}`, "
            f"simd={hpinfo.get('simd', '-')}"
        )
        L.append("")
        L.append("### Targets")
        L.append("")
        L.append("| issue | target | measured | goal | status | detail |")
        L.append("|---|---|---|---|---|---|")
        for t in self.targets:
            L.append(
                md_row(
                    t["issue"],
                    t["target"],
                    t["shown"],
                    t["goal"],
                    f"**{t['status']}**",
                    t["detail"],
                )
            )
        L.append("")
        bw, gf = self.machine.get("bandwidth", {}), self.machine.get("flops", {})
        if bw or gf:
            L.append("### Machine")
            L.append("")
            parts = [f"triad {k}: {v / 1e9:.1f} GB/s" for k, v in bw.items()]
            parts += [f"float64 peak {k}: {v / 1e9:.1f} GFLOP/s" for k, v in gf.items()]
            L.append("; ".join(parts) + ".")
            L.append("")
        if self.bounds:
            L.append("### hessprobe against the machine bound")
            L.append("")
            L.append(
                md_row(
                    "n",
                    "kernel",
                    "bytes",
                    "flops",
                    "memory time",
                    "compute time",
                    "bound",
                    "hessprobe",
                    "hessprobe / bound",
                    "limit",
                )
            )
            L.append("|---|---|---|---|---|---|---|---|---|---|")
            for b in self.bounds:
                L.append(
                    md_row(
                        fmt_n(b["n"]),
                        b["kernel"],
                        f"{b['bytes'] / 1e6:.3g} MB",
                        f"{b['flops'] / 1e6:.3g} M",
                        f"{fmt_t(b['t_mem'])} (DRAM {fmt_t(b['t_mem_dram'])})",
                        fmt_t(b["t_flop"]),
                        fmt_t(b["bound"]),
                        fmt_t(b["t_hp"]),
                        f"{b['ratio']:.2f}",
                        b["limit"],
                    )
                )
            L.append("")
        if self.memory:
            L.append("### Peak extra memory (Hutchinson, 100 probes, fresh subprocess, VmHWM)")
            L.append("")
            L.append(
                "| n | source | threads | peak extra | per thread (n-vectors) | budget per thread |"
            )
            L.append("|---|---|---|---|---|---|")
            for m in self.memory:
                L.append(
                    md_row(
                        fmt_n(m["n"]),
                        m["source"],
                        m["threads"],
                        f"{m['delta_bytes'] / 2**20:.1f} MiB",
                        f"{m['per_thread_vectors']:.2f}",
                        16,
                    )
                )
            L.append("")
        L.append("### Side by side")
        L.append("")
        L.append(
            "`vs hp` = this method's time / hessprobe's time for the same task in the same run "
            "(the task's first row, marked *); above 1 means hessprobe is faster. `error` = "
            "relative 2-norm error against the exact value "
            "(rosen_der, rosen_hess_prod, or the exact Hessian diagonal)."
        )
        L.append("")
        L.append(
            "| task | n | method | time (median) | vs hp | error | compile / first call | notes |"
        )
        L.append("|---|---|---|---|---|---|---|---|")
        tasks: list[str] = []
        for r in self.rows:
            if r["task"] not in tasks:
                tasks.append(r["task"])
        for task in tasks:
            for n in self.sizes:
                rs = [r for r in self.rows if r["task"] == task and r["n"] == n]
                base = next((r for r in rs if r["baseline"] and r["status"] == "ok"), None)
                for r in rs:
                    if r["status"] != "ok":
                        L.append(f"| {task} | {fmt_n(n)} | {r['method']} | {r['status']} | | | | |")
                        continue
                    vs = (
                        "*"
                        if r["baseline"]
                        else (fmt_x(r["median"] / base["median"]) if base else "-")
                    )
                    if r["compile"] is not None:
                        cf = f"compile {fmt_t(r['compile'])}"
                    elif r["first"] is not None and r["lib"] != "C":
                        cf = f"first {fmt_t(r['first'])}"
                    else:
                        cf = ""
                    nrep = len(r["samples"])
                    note = (
                        r["note"]
                        + ("; " if r["note"] else "")
                        + (f"{nrep} runs" if nrep > 1 else "1 run")
                    )
                    L.append(
                        md_row(
                            task,
                            fmt_n(n),
                            r["method"],
                            fmt_t(r["median"]),
                            vs,
                            fmt_e(r["err"]),
                            cf,
                            note,
                        )
                    )
        L.append("")
        if self.notes:
            L.append("### Notes")
            L.append("")
            for s in self.notes:
                L.append(f"- {s}")
            L.append("")
        return "\n".join(L)

    def plots(self) -> list[str]:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except Exception as e:
            self.note(f"matplotlib not available ({e}); no PNG plots")
            return []
        files = []
        tasks: list[str] = []
        for r in self.rows:
            if r["task"] not in tasks:
                tasks.append(r["task"])
        if not tasks:
            return files
        ncol = 3
        nrow = math.ceil(len(tasks) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(6.2 * ncol, 4.6 * nrow), squeeze=False)
        for ax, task in zip(axes.flat, tasks):
            methods: list[str] = []
            for r in self.rows:
                if r["task"] == task and r["method"] not in methods:
                    methods.append(r["method"])
            cmap = plt.get_cmap("tab20")
            markers = "os^vD<>ph*"
            for i, mth in enumerate(methods):
                pts = [
                    (r["n"], r["median"])
                    for r in self.rows
                    if r["task"] == task and r["method"] == mth and r["status"] == "ok"
                ]
                if not pts:
                    continue
                xs, ys = zip(*pts)
                hpm = mth.startswith("hessprobe")
                ax.loglog(
                    xs,
                    ys,
                    marker=markers[i % len(markers)],
                    color=cmap(i % 20),
                    lw=2.2 if hpm else 1.0,
                    ls="-" if hpm else "--",
                    label=mth[:60],
                )
            ax.set_title(task)
            ax.set_xlabel("n")
            ax.set_ylabel("time per call [s]")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=6)
        for ax in list(axes.flat)[len(tasks) :]:
            ax.axis("off")
        fig.suptitle("Rosenbrock: time against n (median); solid = hessprobe")
        fig.tight_layout()
        p = self.out / "time_vs_n.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        files.append(p.name)
        c = self.errcurve
        if c and c.get("exact"):
            fig, ax = plt.subplots(figsize=(6.4, 4.6))
            ms = c["probes"][: len(c["exact"])]
            ax.loglog(ms, c["exact"], "o-", label="hessprobe exact HVPs: rel. error")
            se = [(m, s) for m, s in zip(ms, c["exact_stderr"]) if s is not None]
            if se:
                ax.loglog(*zip(*se), "s:", label="hessprobe reported stderr (rel.)")
            if c["fd"]:
                ax.loglog(
                    c["fd_probes"],
                    c["fd"],
                    "^--",
                    label="hessprobe Python rosen_der FD: rel. error",
                )
            ax.loglog(
                ms, [c["exact"][0] / math.sqrt(m) for m in ms], "k-", lw=0.8, label="1/sqrt(probes)"
            )
            ax.set_xlabel("probes")
            ax.set_ylabel("||estimate - diag(H)|| / ||diag(H)||")
            ax.set_title(f"Hutchinson diagonal, Rosenbrock n = {fmt_n(c['n'])}")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
            fig.tight_layout()
            p = self.out / "error_vs_probes.png"
            fig.savefig(p, dpi=110)
            plt.close(fig)
            files.append(p.name)
        return files

    def write(self) -> None:
        files = self.plots()
        md = "## hessprobe benchmark results\n\n" + self.table_md()
        if files:
            md += "\n" + "\n".join(f"![{f}]({f})" for f in files) + "\n"
        (self.out / "results.md").write_text(md)
        raw = {
            "quick": self.quick,
            "sizes": self.sizes,
            "machine": self.machine,
            "rows": self.rows,
            "targets": self.targets,
            "bounds": self.bounds,
            "memory": self.memory,
            "error_curve": self.errcurve,
            "notes": self.notes,
            "hessprobe_errors": self.hp_errors,
            "alternative_errors": self.alt_errors,
        }
        (self.out / "results.json").write_text(json.dumps(raw, indent=1, default=str))
        say("\n" + md)
        say(
            f"written: {self.out / 'results.md'}, {self.out / 'results.json'}"
            + "".join(f", {self.out / f}" for f in files)
        )
        shutil.rmtree(self.tmp, ignore_errors=True)


def update_readme(results_md: Path, readme: Path) -> None:
    """Replace the block between the results markers in bench/README.md."""
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    text = readme.read_text()
    if start not in text or end not in text:
        say(f"{readme}: markers not found; not updated")
        return
    body = results_md.read_text().replace("## hessprobe benchmark results\n\n", "")
    rel = os.path.relpath(results_md.parent, readme.parent)
    body = body.replace("](time_vs_n.png)", f"]({rel}/time_vs_n.png)").replace(
        "](error_vs_probes.png)", f"]({rel}/error_vs_probes.png)"
    )
    a, b = text.index(start) + len(start), text.index(end)
    readme.write_text(text[:a] + "\n" + body + "\n" + text[b:])
    say(f"updated {readme}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: n = 100, 1000; few repeats")
    ap.add_argument(
        "--sizes", default="", help="comma-separated n (e.g. 1e4,1e6) instead of the defaults"
    )
    ap.add_argument(
        "--out", default=str(HERE / "results"), help="output directory (default: bench/results)"
    )
    ap.add_argument(
        "--strict", action="store_true", help="an alternative's runtime error is fatal too"
    )
    ap.add_argument(
        "--update-readme",
        action="store_true",
        help="copy the table into bench/README.md (full runs)",
    )
    args = ap.parse_args(argv)
    b = Bench(args)
    rc = b.run()
    if args.update_readme and rc == 0 and not args.quick:
        update_readme(Path(args.out) / "results.md", HERE / "README.md")
    return rc


if __name__ == "__main__":
    sys.exit(main())
