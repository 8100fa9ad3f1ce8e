"""The machine: what it is, the C programs of bench/csrc (compiled and run at run time), and the
machine bound of each hessprobe kernel, max(bytes / bandwidth, flops / peak)."""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from harness import Bench, fmt_n, loadavg, say
from problem import NBLOCK, PROBES

CSRC = Path(__file__).resolve().parent / "csrc"
LSCPU_KEYS = (
    "Model name",
    "CPU(s)",
    "Thread(s) per core",
    "Core(s) per socket",
    "L2 cache",
    "L3 cache",
    "Hypervisor vendor",
)


class Toolchain:
    """Compiles the programs of bench/csrc into a temporary directory and runs them."""

    def __init__(self, b: Bench) -> None:
        self.b = b
        self.tmp = Path(tempfile.mkdtemp(prefix="hessprobe-bench-"))
        self.cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")

    def compile(self, name: str, flags: list[str], out: str, shared: bool = False) -> Path | None:
        if self.cc is None:
            return None
        dst = self.tmp / out
        cmd = [self.cc, "-O3", *flags, str(CSRC / f"{name}.c"), "-o", str(dst)]
        if shared:
            cmd[2:2] = ["-shared", "-fPIC"]
        cmd.append("-lm")
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            self.b.note(f"compiling {name}.c failed ({' '.join(cmd)}): {p.stderr.strip()[:300]}")
            return None
        return dst

    def run(self, exe: Path, args: list[str], threads: int) -> list[str]:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_PROC_BIND="false")
        p = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"{exe.name} failed: {p.stderr.strip()[:300]}")
        return p.stdout.split()

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def machine_info(b: Bench) -> None:
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": b.ncores,
        "loadavg_start": loadavg(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            if k.strip() in LSCPU_KEYS:
                info[k.strip()] = v.strip()
    except Exception:
        pass
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["MemTotal"] = line.split(":")[1].strip()
    except Exception:
        pass
    b.machine.update(info)


def record_threadpools(b: Bench) -> None:
    """The BLAS/OpenMP thread pools loaded so far (threadpoolctl, optional), into b.machine."""
    tpc = b.optional("threadpoolctl", "BLAS/OpenMP thread pools not recorded")
    if tpc is not None:
        try:
            b.machine["threadpools"] = [
                {k: d.get(k) for k in ("internal_api", "num_threads", "version")}
                for d in tpc.threadpool_info()
            ]
        except Exception:
            pass


# ------------------------------------------------------------------------------ machine bound
def machine_bound(b: Bench, tc: Toolchain) -> None:
    """Triad bandwidth (DRAM, and on arrays of each n >= 10^4) and float64 peak FLOP rates."""
    b.phase("machine: STREAM-like triad and float64 FLOP rate")
    if tc.cc is None:
        b.note("no C compiler found: machine-bound rows are skipped")
        return
    stream = tc.compile("stream", ["-fopenmp"], "stream")
    flops = tc.compile("flops", ["-fopenmp"], "flops")
    # the machine's peak: every vector width the CPU has (GCC keeps AVX-512 code at 256 bits
    # unless asked; the flag is ignored on CPUs without AVX-512)
    flops_nat = tc.compile(
        "flops", ["-fopenmp", "-march=native", "-mprefer-vector-width=512"], "flops_native"
    )
    bw: dict[str, float] = {}
    gf: dict[str, float] = {}
    try:
        if stream is not None:
            triad(b, tc, stream, bw)
        for exe, isa in ((flops, "baseline"), (flops_nat, "native")):
            if exe is not None:
                peak(b, tc, exe, isa, gf)
    except Exception as e:
        b.note(f"machine probe failed: {e}")
    b.machine["bandwidth"] = bw
    b.machine["flops"] = gf


def triad(b: Bench, tc: Toolchain, stream: Path, bw: dict[str, float]) -> None:
    big = 2_000_000 if b.quick else 1 << 25
    reps = "3" if b.quick else "10"
    for th in sorted({1, b.threads_all}):
        best = float(tc.run(stream, [str(big), reps], th)[0])
        bw[f"dram_t{th}"] = 24.0 * big / best
        say(
            f"  triad {fmt_n(big)} doubles/array, {th} thread(s): "
            f"{bw[f'dram_t{th}'] / 1e9:.1f} GB/s"
        )
    for n in b.sizes:
        if n < 10_000:
            continue
        r = "200" if n <= 100_000 else "50"
        best = float(tc.run(stream, [str(n), r], b.threads_all)[0])
        bw[f"n{n}"] = 24.0 * n / best
        say(
            f"  triad at n={fmt_n(n)} (24n bytes, cache-resident when small), "
            f"{b.threads_all} threads: {bw[f'n{n}'] / 1e9:.1f} GB/s"
        )


def peak(b: Bench, tc: Toolchain, exe: Path, isa: str, gf: dict[str, float]) -> None:
    iters = "2000000" if b.quick else "50000000"
    for th in sorted({1, b.threads_all}):
        gf[f"{isa}_t{th}"] = float(tc.run(exe, [iters], th)[0]) * 1e9
        say(f"  float64 peak ({isa} ISA), {th} thread(s): {gf[f'{isa}_t{th}'] / 1e9:.1f} GFLOP/s")


# ------------------------------------------------------------------------------ native code
@dataclass
class Native:
    """The native Rosenbrock gradient (a scipy.LowLevelCallable) and the C Hutchinson reference.

    ``llc`` is None without a C compiler; ``hutch_ref`` maps an ISA to its executable (None
    where that build failed).
    """

    llc: Any = None
    path: Path | None = None
    lib: Any = None  # keeps the shared library loaded
    hutch_ref: dict[str, Path | None] = field(default_factory=dict)


def build_native(b: Bench, tc: Toolchain) -> Native:
    so = tc.compile("rosen_grad", [], "librosen_grad.so", shared=True)
    if so is None:
        b.note("native gradient not built (no C compiler): LowLevelCallable rows skipped")
        return Native()
    lib = ctypes.CDLL(str(so))
    fn = lib.rosen_grad
    fn.restype = ctypes.c_int
    fn.argtypes = [
        ctypes.c_long,
        ctypes.POINTER(ctypes.c_double),
        ctypes.POINTER(ctypes.c_double),
        ctypes.c_void_p,
    ]
    llc = scipy.LowLevelCallable(fn, signature="int (npy_intp, double *, double *, void *)")
    hutch_ref = {
        "baseline": tc.compile("hutch_ref", ["-fopenmp"], "hutch_ref"),
        "native": tc.compile("hutch_ref", ["-fopenmp", "-march=native"], "hutch_ref_native"),
    }
    return Native(llc=llc, path=so, lib=lib, hutch_ref=hutch_ref)


# ------------------------------------------------------------------------------ bounds
def hessprobe_isa(b: Bench) -> str:
    """The ISA hessprobe was compiled for ("native": AVX2/FMA, or "baseline"), from hp.info()."""
    flags = str(b.machine.get("hessprobe", {}).get("flags", ""))
    simd = str(b.machine.get("hessprobe", {}).get("simd", ""))
    wide = ("march=native", "-mavx", "-mfma", "march=x86-64-v3")
    return "native" if simd.startswith("avx") or any(t in flags for t in wide) else "baseline"


def compute_bounds(b: Bench, n: int) -> None:
    """Add to b.bounds, for the hessprobe rows of size n, their time against the machine bound."""
    bw = b.machine.get("bandwidth", {})
    gf = b.machine.get("flops", {})
    T = b.threads_all
    isa = hessprobe_isa(b)
    b.machine["hessprobe_isa"] = isa
    B_dram = bw.get(f"dram_t{T}")
    B_n = bw.get(f"n{n}", B_dram)
    F = gf.get(f"{isa}_t{T}")
    F1 = gf.get(f"{isa}_t1")
    if not B_dram or not F or n < 10_000:
        return
    hutch = (24 * n, 7 * PROBES * n)  # bytes, flops of m probes
    # (name, hessprobe key, bytes, flops, threads used)
    kernels = [
        ("gradient f.grad", "hp_grad", 16 * n, 11 * n, T),
        ("exact HVP f.hvp (read x, v; write Hv)", "hp_hvp", 24 * n, 11 * n, T),
        (f"block of {NBLOCK} HVPs", "hp_blk", 8 * n + NBLOCK * 16 * n, 5 * n + NBLOCK * 6 * n, T),
        (f"Hutchinson {PROBES} probes, threads={T}", f"hp_hutch_t{T}", *hutch, T),
        (f"Hutchinson {PROBES} probes, threads=1", "hp_hutch_t1", *hutch, 1),
    ]
    for name, key, nbytes, nflops, th in kernels:
        t = b.t(n, key)
        fx = F1 if th == 1 else F
        # bandwidth: the better of the DRAM triad and the triad on arrays of this n (a
        # working set that fits in cache moves faster, so the bound stays a lower bound)
        b_dram = bw.get(f"dram_t{th}") or B_dram
        b_best = max(b_dram, B_n) if th == T else b_dram
        if t is None or not fx:
            continue
        t_mem, t_mem_dram, t_flop = nbytes / b_best, nbytes / b_dram, nflops / fx
        bound = max(t_mem, t_flop)
        b.bounds.append(
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
