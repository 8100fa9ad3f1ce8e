"""progress= on every long-running call: a callback hears monotone counts ending at the total,
between blocks; a bar works with tqdm and without it (the plain stderr fallback)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy.optimize import rosen_der

import hessprobe as hp
from hessprobe.progress import TextBar, reporter

F = hp.functions.rosenbrock()
X = np.full(40, 0.5)


def _record(run):
    calls = []
    result = run(lambda done, total: calls.append((done, total)))
    return calls, result


def _check(calls, total):
    assert calls, "no progress reported"
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[0] > 0
    assert calls[-1] == (total, total)


CALLS = {
    "hutchinson_diag builtin": (
        lambda p: hp.hutchinson_diag(F, X, 40, progress=p, structure="none"),
        40,
    ),
    "hutchinson_diag fd": (
        lambda p: hp.hutchinson_diag(rosen_der, X, 20, progress=p, structure="none"),
        20,
    ),
    "hutchinson_trace fd": (
        lambda p: hp.hutchinson_trace(rosen_der, X, 20, progress=p, structure="none"),
        20,
    ),
    "trace xtrace": (
        lambda p: hp.trace(F, X, 21, method="xtrace", progress=p, structure="none"),
        20,
    ),
    "trace hutch++": (
        lambda p: hp.trace(F, X, 21, method="hutch++", progress=p, structure="none"),
        21,
    ),
    "diagonal xdiag": (
        lambda p: hp.diagonal(F, X, 20, method="xdiag", progress=p, structure="none"),
        20,
    ),
    "diagonal diag++": (
        lambda p: hp.diagonal(F, X, 20, method="diag++", progress=p, structure="none"),
        20,
    ),
    "diagonal hutchinson": (
        lambda p: hp.diagonal(rosen_der, X, 16, progress=p, structure="none"),
        16,
    ),
    "hessian dense fd": (
        lambda p: hp.hessian(rosen_der, X, block=8, sparsity="dense", progress=p),
        40,
    ),
    "hessian detected fd": (lambda p: hp.hessian(rosen_der, X, progress=p), 3),
    "hessian dense builtin": (lambda p: hp.hessian(F, X, sparsity="dense", progress=p), 40),
    "hessian banded": (lambda p: hp.hessian(rosen_der, X, bandwidth=1, progress=p), 3),
    "hessian_diag fd": (lambda p: hp.hessian_diag(rosen_der, X, sparsity="dense", progress=p), 40),
    "hessian_diag detected fd": (lambda p: hp.hessian_diag(rosen_der, X, progress=p), 2),
    "hessian_diag builtin": (lambda p: hp.hessian_diag(F, X, progress=p), 2),
    "spectral_density": (lambda p: hp.spectral_density(F, X, vectors=10, steps=6, progress=p), 12),
    "adahessian": (
        lambda p: hp.optim.AdaHessian(lr=0.1).minimize(F, X[:6], maxiter=7, progress=p),
        7,
    ),
}


@pytest.mark.parametrize("name", list(CALLS), ids=list(CALLS))
def test_callback_counts_up_to_the_total(name):
    run, total = CALLS[name]
    calls, _ = _record(run)
    _check(calls, total)


def test_callback_does_not_change_the_result():
    calls, est = _record(
        lambda p: hp.hutchinson_diag(rosen_der, X, 24, seed=3, progress=p, structure="none")
    )
    plain = hp.hutchinson_diag(rosen_der, X, 24, seed=3, structure="none")
    assert np.array_equal(est.value, plain.value)
    assert calls == [(8, 24), (16, 24), (24, 24)]  # one call per block of 8 probes


@pytest.mark.parametrize("source", [F, rosen_der], ids=["builtin", "fd"])
def test_tol_stopping_early_ends_at_the_probes_used(source):
    calls, est = _record(
        lambda p: hp.hutchinson_diag(
            source, np.full(200, 0.5), 10_000, tol=0.05, progress=p, structure="none"
        )
    )
    assert est.probes < 10_000
    assert calls[-1] == (est.probes, est.probes)
    assert all(t == 10_000 for _, t in calls[:-1])
    assert [d for d, _ in calls[:-1]] == list(range(8, est.probes + 1, 8))


def test_adahessian_converging_early_ends_at_its_steps():
    calls, res = _record(
        lambda p: hp.optim.AdaHessian(lr=0.5).minimize(
            hp.functions.quadratic(np.eye(3)), np.ones(3), maxiter=10_000, gtol=1e-6, progress=p
        )
    )
    assert res.nit < 10_000 and calls[-1] == (res.nit, res.nit)


def test_a_raising_callback_stops_the_run():
    def stop(done, total):
        raise RuntimeError(f"stop at {done}")

    with pytest.raises(RuntimeError, match="stop at 8"):
        hp.hutchinson_trace(rosen_der, X, 100, progress=stop, structure="none")


def test_bad_progress_is_a_type_error():
    with pytest.raises(TypeError, match="progress must be"):
        hp.hutchinson_trace(F, X, 8, progress="yes", structure="none")


def test_bar_without_tqdm_writes_a_plain_bar_to_stderr(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    hp.hutchinson_trace(rosen_der, X, 16, progress=True, structure="none")
    err = capsys.readouterr().err
    assert "trace: 16/16 (100%)" in err and "ETA" in err and err.endswith("\n")


def test_bar_with_tqdm(capsys):
    pytest.importorskip("tqdm")
    est = hp.hutchinson_trace(rosen_der, X, 16, progress=True, structure="none")
    assert est.probes == 16
    assert "16/16" in capsys.readouterr().err


def test_text_bar_eta():
    import io

    out = io.StringIO()
    bar = TextBar(10, "x", out)
    bar(10, 10)
    assert out.getvalue().startswith("\rx: 10/10 (100%)")


def test_no_progress_reports_to_nobody():
    for progress in (None, False):
        report = reporter(progress, 10, "x")
        assert report.hook is None  # the core skips the call between its blocks
        report(5)
        report.finish()


def failing_after(calls):
    count = [0]

    def gradient(x):
        count[0] += 1
        if count[0] > calls:
            raise ValueError("the gradient failed")
        return rosen_der(x)

    return gradient


FAILING = {
    "hutchinson_trace": lambda g: hp.hutchinson_trace(
        g, X, 64, threads=1, progress=True, structure="none"
    ),
    "trace xtrace": lambda g: hp.trace(
        g, X, 21, method="xtrace", threads=1, progress=True, structure="none"
    ),
    "hessian": lambda g: hp.hessian(g, X, block=8, threads=1, sparsity="dense", progress=True),
    "spectral_density": lambda g: hp.spectral_density(g, X, vectors=10, steps=6, progress=True),
    "adahessian": lambda g: hp.optim.AdaHessian(lr=0.1).minimize(
        g, X[:6], maxiter=7, progress=True
    ),
}


@pytest.mark.parametrize("name", list(FAILING))
def test_a_failing_run_closes_its_bar(name, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain bar: its close() ends the line
    with pytest.raises(ValueError, match="the gradient failed"):
        FAILING[name](failing_after(20))
    # the bar's close() ends its line (the run failed before a redraw was due)
    assert capsys.readouterr().err.endswith("\n")
