"""The commands ``diag``, ``trace`` and ``hessian`` of a function at a point."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import dense, estimators, structured
from .errors import CliError
from .inputs import BUILTINS, DEFAULT_N, DEFAULT_VALUE, load_function, load_point, positive

__all__ = ["add_commands"]

_FUNCTION_HELP = (
    f"a built-in ({', '.join(BUILTINS)}) or your gradient as module:function "
    "(g(x) -> array of shape (n,), imported from the working directory or sys.path)"
)


def add_commands(sub: Any) -> None:
    """Add ``diag``, ``trace`` and ``hessian`` to the sub-parsers ``sub``."""
    diag = _command(sub, "diag", "the Hessian's diagonal (Hutchinson estimate, or --exact)")
    diag.add_argument(
        "--exact",
        action="store_true",
        help="the exact diagonal from coloured HVPs instead of an estimate",
    )
    diag.add_argument("--bandwidth", type=int, help="half-bandwidth of H, for --exact")
    _probing(diag)
    diag.set_defaults(run=_diag)
    trace = _command(sub, "trace", "a Hutchinson estimate of the Hessian's trace")
    _probing(trace)
    trace.set_defaults(run=_trace)
    hessian = _command(sub, "hessian", "the dense Hessian from its columns (n HVPs)")
    hessian.set_defaults(run=_hessian)


def _command(sub: Any, name: str, text: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=text, description=text + ".")
    p.add_argument("function", help=_FUNCTION_HELP)
    p.add_argument(
        "--n",
        type=positive,
        help=f"number of variables, at the default point x = {DEFAULT_VALUE} (default {DEFAULT_N})",
    )
    p.add_argument("--x", metavar="FILE.npy", help="the point, a 1-D array saved by numpy.save")
    p.add_argument("--threads", type=positive, help="threads (default: all cores)")
    p.add_argument("--out", metavar="FILE.npy", help="save the result with numpy.save")
    if name != "trace":
        p.add_argument("--plot", metavar="FILE.png", help="plot the result (needs matplotlib)")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress", action="store_true", default=None, help="show a progress bar with an ETA"
    )
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def _probing(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--probes",
        type=positive,
        default=estimators.DEFAULT_HVPS,
        help="Hutchinson probes, one HVP each (with --tol: the most; "
        f"default {estimators.DEFAULT_HVPS})",
    )
    p.add_argument("--tol", type=float, help="stop at this relative standard error")
    p.add_argument("--seed", type=int, default=0, help="probe seed (default 0)")


def _setup(args: argparse.Namespace) -> tuple[Any, NDArray[np.float64], dict[str, Any]]:
    source = load_function(args.function)
    x = load_point(args.x, args.n)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    return source, x, {"threads": args.threads, "progress": progress}


def _estimate(args: argparse.Namespace, diagonal: bool) -> estimators.Estimate[Any]:
    source, x, options = _setup(args)
    run = estimators.hutchinson_diag if diagonal else estimators.hutchinson_trace
    # The command estimates by probing (its --exact option is the coloured diagonal).
    return run(source, x, args.probes, seed=args.seed, tol=args.tol, structure="none", **options)


def _diag(args: argparse.Namespace) -> int:
    if args.exact:
        source, x, options = _setup(args)
        value = structured.hessian_diag(source, x, bandwidth=args.bandwidth, **options)
        print(f"exact diagonal, n = {x.size}: {_summary(value)}")
    else:
        if args.bandwidth is not None:
            raise CliError("--bandwidth applies to --exact only")
        est = _estimate(args, True)
        value = est.value
        rel = float(np.linalg.norm(est.stderr) / np.linalg.norm(value))
        print(
            f"Hutchinson diagonal, n = {value.size}, {est.probes} probes: {_summary(value)}; "
            f"relative stderr {rel:.3g}"
        )
    _save(args.out, value)
    if args.plot:
        _plot(args.plot, lambda ax: ax.plot(value), "coordinate", "H_ii")
    return 0


def _trace(args: argparse.Namespace) -> int:
    est = _estimate(args, False)
    print(f"trace {est.value:.10g} +- {est.stderr:.3g} ({est.probes} probes, {est.hvps} HVPs)")
    _save(args.out, np.array([est.value, est.stderr]))
    return 0


def _hessian(args: argparse.Namespace) -> int:
    source, x, options = _setup(args)
    H = dense.hessian(source, x, **options)
    print(f"Hessian {H.shape[0]} x {H.shape[1]}: {_summary(np.diag(H))} on the diagonal")
    _save(args.out, H)
    if args.plot:
        _plot(args.plot, lambda ax: ax.imshow(H, cmap="RdBu_r"), "column", "row")
    return 0


def _summary(v: NDArray[np.float64]) -> str:
    head = ", ".join(f"{a:.6g}" for a in v[:3])
    return f"[{head}{', ...' if v.size > 3 else ''}] (min {v.min():.6g}, max {v.max():.6g})"


def _save(path: str | None, value: NDArray[np.float64]) -> None:
    if path is None:
        return
    try:
        np.save(path, value)
    except OSError as exc:
        raise CliError(f"cannot write --out {path!r}: {exc}") from None
    print(f"saved to {path}")


def _plot(path: str, draw: Any, xlabel: str, ylabel: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CliError("--plot needs matplotlib: python -m pip install matplotlib") from None
    fig, ax = plt.subplots(figsize=(6, 4))
    draw(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    try:
        fig.savefig(path, dpi=100)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot write --plot {path!r}: {exc}") from None
    finally:
        plt.close(fig)
    print(f"plot saved to {path}")
