"""The issues' targets, evaluated at the largest size from the rows, bounds and memory rows."""

from __future__ import annotations

import math
from typing import Any, Callable

from harness import Bench, fmt_n, fmt_t
from problem import NBLOCK, PROBES

JAX_HVPS = ("jax_hvp_fr", "jax_hvp_rf", "jax_hvp_rr")
# Issue 15's ratios whose two sides are timed again call by call in turn (Bench.interleave).
# Each row is in one group only, so that every ratio's sides come from one interleaving.
INTERLEAVED = (
    ("hp_hvp", "hp_hvp_out", "hp_diag_builtin", "hp_diag_builtin_out", *JAX_HVPS),
    ("hp_blk_loop_out", "hp_blk_out"),
    ("hp_fd_cen", "numpy_fd_cen"),
)
JAX_HUTCHS = ("jax_hutch_scan", "jax_hutch_scan_mean", "jax_hutch_vmap", "jax_hutch_loop")


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


class Targets:
    """The rows of the "Targets" table, in order."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
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
        self.rows.append(
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

    def times(
        self, issue: str, what: str, a: float | None, b: float | None, op: str, goal: float
    ) -> None:
        """The target a / b of two times, shown as "a / b"."""
        self.add(issue, what, ratio(a, b), op, goal, detail=f"{fmt_t(a)} / {fmt_t(b)}")

    def best_of(
        self,
        issue: str,
        what: str,
        absent: str,
        best: tuple[float, str] | None,
        t_hp: float | None,
        goal: float,
    ) -> None:
        """The target (fastest of several rows) / hessprobe, shown with the fastest row's key;
        without any of those rows, the target named ``absent`` with no value."""
        if best is None:
            self.add(issue, absent, None, ">=", goal)
            return
        tj, kj = best
        self.add(
            issue, what, ratio(tj, t_hp), ">=", goal, detail=f"{fmt_t(tj)} ({kj}) / {fmt_t(t_hp)}"
        )


def fastest(
    b: Bench, n: int, keys: tuple[str, ...], paired: bool = False
) -> tuple[float, str] | None:
    """(time, key) of the fastest row among keys at size n, or None when none ran; with
    ``paired``, of their interleaved times."""
    times = [(t, k) for k in keys if (t := (b.t_paired if paired else b.t)(n, k)) is not None]
    return min(times) if times else None


def evaluate_targets(b: Bench) -> None:
    n = b.sizes[-1]
    T = b.threads_all
    where = f"n={fmt_n(n)}" + (" (quick run: NOT the target size 10^6)" if b.quick else "")
    tg = Targets()

    t_hvp, t_grad = b.t(n, "hp_hvp"), b.t(n, "hp_grad")
    tg.times("#2", f"exact HVP / gradient (hessprobe), {where}", t_hvp, t_grad, "<=", 2)
    t_s = b.t(n, "scipy_hvp")
    tg.times("#2", "rosen_hess_prod / hessprobe exact HVP", t_s, t_hvp, ">=", 4)
    what = "best JAX jitted HVP / hessprobe exact HVP"
    tg.best_of("#2", what, f"{what} (JAX not installed)", fastest(b, n, JAX_HVPS), t_hvp, 1)
    t_b = b.t(n, "hp_blk")
    tg.times("#2", f"block of {NBLOCK} HVPs / one HVP (hessprobe)", t_b, t_hvp, "<=", 3)

    t_h = b.t(n, f"hp_hutch_t{T}")
    what = f"best JAX Hutchinson ({PROBES} probes) / hessprobe (threads={T})"
    absent = "best JAX Hutchinson / hessprobe (JAX not installed)"
    tg.best_of("#3", what, absent, fastest(b, n, JAX_HUTCHS), t_h, 5)
    t_h1 = b.t(n, "hp_hutch_t1")
    tg.times("#3", f"Hutchinson threads=1 / threads={T} (built-in)", t_h1, t_h, ">=", 1.7)
    t_l1, t_l2 = b.t(n, "hp_hutch_llc_t1"), b.t(n, f"hp_hutch_llc_t{T}")
    tg.times("#3", f"Hutchinson threads=1 / threads={T} (LowLevelCallable)", t_l1, t_l2, ">=", 1.7)
    for m in b.memory:
        tg.add(
            "#3",
            f"peak extra memory per thread / (16 n 8 B), {m['source']}, threads={m['threads']}",
            m["per_thread_vectors"] / 16.0,
            "<=",
            1.0,
            fmtv=lambda r: f"{r:.3f}",
            detail=f"{m['delta_bytes'] / 2**20:.1f} MiB total = "
            f"{m['per_thread_vectors']:.2f} n-vectors/thread",
        )
    r1 = b.find(n, "hp_hutch_py_t1")
    tg.add(
        "#3",
        "Python-callable FD probing: fraction of time outside rosen_der (threads=1)",
        None if r1 is None else r1.get("outside_fraction"),
        "<=",
        0.10,
        fmtv=lambda r: f"{r * 100:.1f}%",
        goal_shown="10%",
        detail=r1.get("note", "") if r1 else "",
    )

    # issue 13: a user's compiled C++ function against the built-in of the same shape
    t_c = b.t(n, f"hp_cxx_hutch_t{T}")
    what = f"compiled user C++ / built-in, Hutchinson {PROBES} probes, threads={T}"
    tg.times("#13", what, t_c, t_h, "<=", 1.2)
    t_cb = b.t(n, "hp_cxx_blk")
    tg.times("#13", f"compiled user C++ / built-in, block of {NBLOCK} HVPs", t_cb, t_b, "<=", 1.2)
    tg.times("#13", "compiled user C++ / built-in, one HVP", b.t(n, "hp_cxx_hvp"), t_hvp, "<=", 1.2)
    what = f"best JAX Hutchinson ({PROBES} probes) / compiled user C++ (threads={T})"
    absent = "best JAX Hutchinson / compiled user C++ (JAX not installed)"
    tg.best_of("#13", what, absent, fastest(b, n, JAX_HUTCHS), t_c, 1)

    bd = bound(b, n, f"hp_hutch_t{T}")
    tg.add(
        "#5",
        f"Hutchinson kernel time / machine bound (threads={T})",
        bd["ratio"] if bd else None,
        "<=",
        2,
        detail=(
            f"{fmt_t(bd['t_hp'])} / {fmt_t(bd['bound'])} ({bd['limit']}, {bd['isa']} ISA)"
            if bd
            else "bound needs n >= 10^4 and a C compiler"
        ),
    )
    issue12(b, tg, n, T)
    issue15(b, tg, n, T)

    bd = bound(b, n, "hp_hvp")
    tg.add(
        "info",
        "exact HVP time / machine bound",
        bd["ratio"] if bd else None,
        "<=",
        2,
        detail=(f"{fmt_t(bd['t_hp'])} / {fmt_t(bd['bound'])} ({bd['limit']})" if bd else ""),
    )
    b.targets = tg.rows


def issue12(b: Bench, tg: Targets, n: int, T: int) -> None:
    """The exact diagonal of a user's gradient with no structure given (detected pattern)."""
    t_g = b.t(n, "scipy_grad")
    t_d = b.t(n, "hp_diag_dual")
    what = "exact diag of rosen_der (dual, detected, cached) / rosen_der(x)"
    tg.times("#12", what, t_d, t_g, "<=", 5)
    what = "first call (trace + colouring + dual HVPs) / rosen_der(x)"
    tg.times("#12", what, b.t(n, "hp_diag_first"), t_g, "<=", 5)
    what = "exact diag (central FD, detected, cached) / rosen_der(x)"
    tg.times("#12", what, b.t(n, "hp_diag_fd"), t_g, "<=", 8)
    for key, name in (
        (f"hp_hutch_py_t{T}", "hessprobe Hutchinson FD"),
        ("jax_hutch_scan", "JAX scan Hutchinson"),
    ):
        r, e = b.find(n, key), b.find(n, "hp_diag_dual")
        detail = ""
        if r is not None and e is not None:
            times = f"{fmt_t(r['median'])} / {fmt_t(e['median'])}"
            detail = f"{times}; errors {r['err']:.1e} vs {e['err']:.1e}"
        tg.add(
            "#12",
            f"{name} ({PROBES} probes) / exact detected diag (dual)",
            ratio(None if r is None else r["median"], t_d),
            ">=",
            1,
            detail=detail,
        )


def issue15(b: Bench, tg: Targets, n: int, T: int) -> None:
    """The table of issue 15: performance at the machine's limit, every ratio from this run."""
    tp = b.t_paired  # the INTERLEAVED pairs below
    if b.interleaved:
        b.note(
            "targets marked (interleaved): both sides timed again call by call in turn, "
            "25 rounds, the order reversed every round (medians; the side-by-side rows are "
            "timed one after the other)"
        )
    jax = fastest(b, n, JAX_HVPS, paired=True)
    for key, how in (("hp_hvp", "fresh result"), ("hp_hvp_out", "out= reused")):
        what = f"best JAX jitted HVP / hessprobe exact HVP, {how} (interleaved)"
        tg.best_of("#15", what, f"{what} (JAX not installed)", jax, tp(n, key), 1.3)
    t_h = b.t(n, f"hp_hutch_t{T}")
    what = f"JAX jit(lax.scan(hvp)) / hessprobe Hutchinson ({PROBES} probes, threads={T})"
    tg.times("#15", what, b.t(n, "jax_hutch_scan"), t_h, ">=", 5)
    what = f"{NBLOCK} single f.hvp calls / f.hvp(x, V) with V ({NBLOCK}, n)"
    tg.times("#15", what, b.t(n, "hp_blk_loop"), b.t(n, "hp_blk"), ">=", 1.5)
    what = f"{NBLOCK} single f.hvp calls / f.hvp(x, V, out=HV), HV reused"
    tg.times("#15", what, b.t(n, "hp_blk_loop"), b.t(n, "hp_blk_out"), ">=", 1.5)
    what = f"{NBLOCK} single f.hvp(out=HV[k]) / f.hvp(x, V, out=HV), both reused (interleaved)"
    t_loop, t_blk = tp(n, "hp_blk_loop_out"), tp(n, "hp_blk_out")
    # Both at the memory's bandwidth: singles move 3 vectors per HVP, the block 1 + 2 per HVP.
    at_best = 3 * NBLOCK / (1 + 2 * NBLOCK)
    detail = f"{fmt_t(t_loop)} / {fmt_t(t_blk)}; at the memory's bandwidth, <= {at_best:.2f}x"
    tg.add("#15", what, ratio(t_loop, t_blk), ">=", 1.5, detail=detail)
    what = "exact banded diagonal f.hessian_diag / one HVP (interleaved)"
    tg.times("#15", what, tp(n, "hp_diag_builtin"), tp(n, "hp_hvp"), "<=", 2)
    what = "exact banded diagonal / one HVP, both out= reused (interleaved)"
    tg.times("#15", what, tp(n, "hp_diag_builtin_out"), tp(n, "hp_hvp_out"), "<=", 2)
    what = "central-FD HVP of rosen_der / NumPy's naive (g(x+hv)-g(x-hv))/2h (interleaved)"
    tg.times("#15", what, tp(n, "hp_fd_cen"), tp(n, "numpy_fd_cen"), "<=", 1.05)
    bd = bound(b, n, f"hp_hutch_t{T}")
    tg.add(
        "#15",
        f"Hutchinson / its compute floor (flops at peak, threads={T})",
        bd["t_hp"] / bd["t_flop"] if bd else None,
        "<=",
        3,
        detail=(
            f"{fmt_t(bd['t_hp'])} / {fmt_t(bd['t_flop'])} "
            f"({bd['flops']:.2g} flops, {bd['isa']} peak)"
            if bd
            else "bound needs n >= 10^4 and a C compiler"
        ),
    )


def bound(b: Bench, n: int, key: str) -> dict[str, Any] | None:
    """The machine bound of hessprobe's row key at size n (None without one)."""
    return next((bd for bd in b.bounds if bd["n"] == n and bd["key"] == key), None)
