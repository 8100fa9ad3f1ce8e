"""The outputs: results.md (also printed), results.json, the two PNG plots, and the copy of the
table into bench/README.md (``--update-readme``)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
from pathlib import Path
from typing import Any

from harness import Bench, fmt_e, fmt_n, fmt_t, fmt_x, md_row, say

RESULTS_TITLE = "## hessprobe benchmark results\n\n"
PLOTS = ("time_vs_n.png", "error_vs_probes.png")


def write(b: Bench) -> None:
    files = plots(b)
    md = RESULTS_TITLE + table_md(b)
    if files:
        md += "\n" + "\n".join(f"![{f}]({f})" for f in files) + "\n"
    (b.out / "results.md").write_text(md)
    raw = {
        "quick": b.quick,
        "sizes": b.sizes,
        "machine": b.machine,
        "rows": b.rows,
        "targets": b.targets,
        "bounds": b.bounds,
        "memory": b.memory,
        "error_curve": b.errcurve,
        "notes": b.notes,
        "hessprobe_errors": b.hp_errors,
        "alternative_errors": b.alt_errors,
    }
    (b.out / "results.json").write_text(json.dumps(raw, indent=1, default=str))
    say("\n" + md)
    say(
        f"written: {b.out / 'results.md'}, {b.out / 'results.json'}"
        + "".join(f", {b.out / f}" for f in files)
    )


def update_readme(results_md: Path, readme: Path) -> None:
    """Replace the block between the results markers in bench/README.md."""
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    text = readme.read_text()
    if start not in text or end not in text:
        say(f"{readme}: markers not found; not updated")
        return
    body = results_md.read_text().replace(RESULTS_TITLE, "")
    rel = os.path.relpath(results_md.parent, readme.parent)
    for png in PLOTS:
        body = body.replace(f"]({png})", f"]({rel}/{png})")
    a, b = text.index(start) + len(start), text.index(end)
    readme.write_text(text[:a] + "\n" + body + "\n" + text[b:])
    say(f"updated {readme}")


# ------------------------------------------------------------------------------ results.md
def table_md(b: Bench) -> str:
    sections = (header, targets, machine, bounds, memory, side_by_side, notes)
    return "\n".join(line for section in sections for line in section(b))


def table(head: tuple[str, ...], lines: list[str]) -> list[str]:
    """A Markdown table of rows already rendered (md_row), then an empty line."""
    return [md_row(*head), "|" + "---|" * len(head), *lines, ""]


def header(b: Bench) -> list[str]:
    hpinfo = b.machine.get("hessprobe", {})
    m = b.machine
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"Command: `python bench/run.py{' --quick' if b.quick else ''}` · {when} · "
        f"wall {m.get('wall_seconds', 0):.0f} s · load average (1, 5, 15 min) "
        f"{m.get('loadavg_start')} at the start, {m.get('loadavg_end')} at the end",
        "",
        f"Machine: {m.get('Model name', platform.processor())}, {b.ncores} logical CPUs "
        f"(threads/core {m.get('Thread(s) per core', '?')}, L2 {m.get('L2 cache', '?')}, "
        f"L3 {m.get('L3 cache', '?')}, {m.get('MemTotal', '?')} RAM). "
        f"Python {m['python']}, NumPy {m['numpy']}, SciPy {m['scipy']}, "
        f"JAX {m.get('jax', 'absent')}, PyTorch {m.get('torch', 'absent')} "
        f"(threads {m.get('torch_threads', '-')}), "
        f"numdifftools {m.get('numdifftools', 'absent')}.",
        "",
        f"hessprobe {hpinfo.get('version', '?')}: openmp={hpinfo.get('openmp')}, "
        f"threads={hpinfo.get('threads')}, lanes={hpinfo.get('lanes')}, "
        f"compiler={hpinfo.get('compiler')}, flags=`{hpinfo.get('flags')}`, "
        f"simd={hpinfo.get('simd', '-')}",
        "",
    ]


def targets(b: Bench) -> list[str]:
    head = ("issue", "target", "measured", "goal", "status", "detail")
    rows = [
        md_row(t["issue"], t["target"], t["shown"], t["goal"], f"**{t['status']}**", t["detail"])
        for t in b.targets
    ]
    return ["### Targets", "", *table(head, rows)]


def machine(b: Bench) -> list[str]:
    bw, gf = b.machine.get("bandwidth", {}), b.machine.get("flops", {})
    if not (bw or gf):
        return []
    parts = [f"triad {k}: {v / 1e9:.1f} GB/s" for k, v in bw.items()]
    parts += [f"float64 peak {k}: {v / 1e9:.1f} GFLOP/s" for k, v in gf.items()]
    return ["### Machine", "", "; ".join(parts) + ".", ""]


def bounds(b: Bench) -> list[str]:
    if not b.bounds:
        return []
    head = (
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
    rows = [
        md_row(
            fmt_n(d["n"]),
            d["kernel"],
            f"{d['bytes'] / 1e6:.3g} MB",
            f"{d['flops'] / 1e6:.3g} M",
            f"{fmt_t(d['t_mem'])} (DRAM {fmt_t(d['t_mem_dram'])})",
            fmt_t(d["t_flop"]),
            fmt_t(d["bound"]),
            fmt_t(d["t_hp"]),
            f"{d['ratio']:.2f}",
            d["limit"],
        )
        for d in b.bounds
    ]
    return ["### hessprobe against the machine bound", "", *table(head, rows)]


def memory(b: Bench) -> list[str]:
    if not b.memory:
        return []
    head = ("n", "source", "threads", "peak extra", "per thread (n-vectors)", "budget per thread")
    rows = [
        md_row(
            fmt_n(m["n"]),
            m["source"],
            m["threads"],
            f"{m['delta_bytes'] / 2**20:.1f} MiB",
            f"{m['per_thread_vectors']:.2f}",
            16,
        )
        for m in b.memory
    ]
    title = "### Peak extra memory (Hutchinson, 100 probes, fresh subprocess, VmHWM)"
    return [title, "", *table(head, rows)]


def side_by_side(b: Bench) -> list[str]:
    head = (
        "task",
        "n",
        "method",
        "time (median)",
        "vs hp",
        "error",
        "compile / first call",
        "notes",
    )
    rows = []
    for task in b.tasks():
        for n in b.sizes:
            rs = [r for r in b.rows if r["task"] == task and r["n"] == n]
            base = next((r for r in rs if r["baseline"] and r["status"] == "ok"), None)
            rows += [side_by_side_row(r, base) for r in rs]
    return [
        "### Side by side",
        "",
        "`vs hp` = this method's time / hessprobe's time for the same task in the same run "
        "(the task's first row, marked *); above 1 means hessprobe is faster. `error` = "
        "relative 2-norm error against the exact value "
        "(rosen_der, rosen_hess_prod, or the exact Hessian diagonal).",
        "",
        *table(head, rows),
    ]


def side_by_side_row(r: dict[str, Any], base: dict[str, Any] | None) -> str:
    lead = (r["task"], fmt_n(r["n"]), r["method"])
    if r["status"] != "ok":
        return f"| {' | '.join(lead)} | {r['status']} | | | | |"
    vs = "*" if r["baseline"] else (fmt_x(r["median"] / base["median"]) if base else "-")
    if r["compile"] is not None:
        cf = f"compile {fmt_t(r['compile'])}"
    elif r["first"] is not None and r["lib"] != "C":
        cf = f"first {fmt_t(r['first'])}"
    else:
        cf = ""
    nrep = len(r["samples"])
    note = r["note"] + ("; " if r["note"] else "") + (f"{nrep} runs" if nrep > 1 else "1 run")
    return md_row(*lead, fmt_t(r["median"]), vs, fmt_e(r["err"]), cf, note)


def notes(b: Bench) -> list[str]:
    if not b.notes:
        return []
    return ["### Notes", "", *(f"- {s}" for s in b.notes), ""]


# ------------------------------------------------------------------------------ plots
def plots(b: Bench) -> list[str]:
    """The PNGs written into b.out (none without matplotlib, with a note)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:
        b.note(f"matplotlib not available ({e}); no PNG plots")
        return []
    files = []
    if not b.tasks():
        return files
    files.append(plot_time_vs_n(b, plt))
    c = b.errcurve
    if c and c.get("exact"):
        files.append(plot_error_vs_probes(b, plt))
    return files


def plot_time_vs_n(b: Bench, plt: Any) -> str:
    tasks = b.tasks()
    ncol = 3
    nrow = math.ceil(len(tasks) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.2 * ncol, 4.6 * nrow), squeeze=False)
    cmap = plt.get_cmap("tab20")
    markers = "os^vD<>ph*"
    for ax, task in zip(axes.flat, tasks):
        methods = list(dict.fromkeys(r["method"] for r in b.rows if r["task"] == task))
        for i, mth in enumerate(methods):
            pts = [
                (r["n"], r["median"])
                for r in b.rows
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
    return save(fig, plt, b.out / PLOTS[0])


def plot_error_vs_probes(b: Bench, plt: Any) -> str:
    c = b.errcurve
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ms = c["probes"][: len(c["exact"])]
    ax.loglog(ms, c["exact"], "o-", label="hessprobe exact HVPs: rel. error")
    se = [(m, s) for m, s in zip(ms, c["exact_stderr"]) if s is not None]
    if se:
        ax.loglog(*zip(*se), "s:", label="hessprobe reported stderr (rel.)")
    if c["fd"]:
        ax.loglog(c["fd_probes"], c["fd"], "^--", label="hessprobe Python rosen_der FD: rel. error")
    ax.loglog(ms, [c["exact"][0] / math.sqrt(m) for m in ms], "k-", lw=0.8, label="1/sqrt(probes)")
    ax.set_xlabel("probes")
    ax.set_ylabel("||estimate - diag(H)|| / ||diag(H)||")
    ax.set_title(f"Hutchinson diagonal, Rosenbrock n = {fmt_n(c['n'])}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, plt, b.out / PLOTS[1])


def save(fig: Any, plt: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name
