"""Every documented command-line invocation, run as a user would (a subprocess), with the
numbers it writes checked against references; bad input is one line and exit code 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import rosen_hess

import hessprobe as hp

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "hessprobe", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def rosen_diag(n, value=0.5):
    # H_00 = 1200 x0^2 - 400 x1 + 2, H_ii = that + 200, H_nn = 200: at x = 0.5, 102, 302, 200
    return np.diag(rosen_hess(np.full(n, value)))


def test_console_script_is_installed():
    script = shutil.which("hessprobe", path=os.path.dirname(sys.executable))
    assert script is not None
    out = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    assert "diag" in out.stdout and "hessian" in out.stdout


@pytest.mark.parametrize("command", ["info", "demo", "bench", "diag", "trace", "hessian"])
def test_help_on_every_command(command):
    out = run(command, "--help")
    assert out.returncode == 0 and out.stdout.startswith("usage:")


def test_info():
    out = run("info")
    assert out.returncode == 0 and f"version   {hp.__version__}" in out.stdout


def test_demo_small():
    out = run("demo", "--n", "1000", "--probes", "16")
    assert out.returncode == 0 and "max relative difference" in out.stdout
    # the Hutchinson rows probe (they are not the built-in's exact colouring): a real
    # standardized error, no warning of a division by a zero stderr
    assert "nan" not in out.stdout and "RuntimeWarning" not in out.stderr


def test_diag_exact_rosenbrock(tmp_path):
    out = run("diag", "rosenbrock", "--n", "1000", "--exact", "--out", str(tmp_path / "d.npy"))
    assert out.returncode == 0, out.stderr
    assert "[102, 302, 302, ...]" in out.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "d.npy"), rosen_diag(1000))


def test_diag_estimate_is_the_library_estimate(tmp_path):
    out = run(
        "diag", "rosenbrock", "--probes", "64", "--seed", "3", "--out", str(tmp_path / "d.npy")
    )
    assert out.returncode == 0, out.stderr
    ref = hp.hutchinson_diag(
        hp.functions.rosenbrock(), np.full(1000, 0.5), 64, seed=3, structure="none"
    )
    np.testing.assert_array_equal(np.load(tmp_path / "d.npy"), ref.value)
    assert "64 probes" in out.stdout


def test_diag_of_a_user_gradient_from_a_file(tmp_path):
    (tmp_path / "mygrad.py").write_text(
        "from scipy.optimize import rosen_der\n\ndef grad(x):\n    return rosen_der(x)\n"
    )
    x = np.linspace(-1.0, 1.5, 50)
    np.save(tmp_path / "x.npy", x)
    out = run(
        "diag",
        "mygrad:grad",
        "--x",
        "x.npy",
        "--exact",
        "--bandwidth",
        "1",
        "--out",
        "d.npy",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    ref = np.diag(rosen_hess(x))
    np.testing.assert_allclose(np.load(tmp_path / "d.npy"), ref, rtol=1e-6, atol=1e-6)


def test_trace_with_tol_and_threads(tmp_path):
    out = run(
        "trace",
        "rosenbrock",
        "--n",
        "100",
        "--probes",
        "1000",
        "--tol",
        "0.01",
        "--threads",
        "2",
        "--out",
        str(tmp_path / "t.npy"),
    )
    assert out.returncode == 0, out.stderr
    ref = hp.hutchinson_trace(
        hp.functions.rosenbrock(), np.full(100, 0.5), 1000, tol=0.01, structure="none"
    )
    value, stderr = np.load(tmp_path / "t.npy")
    assert (value, stderr) == (ref.value, ref.stderr)
    assert f"({ref.probes} probes" in out.stdout
    assert abs(value - rosen_diag(100).sum()) < 4 * stderr


def test_trace_of_a_separable_function_is_exact():
    out = run("trace", "styblinski_tang", "--n", "10", "--probes", "8")
    # f = sum (x^4 - 16 x^2 + 5 x) / 2: H_ii = 6 x^2 - 16 = -14.5 at 0.5
    assert out.returncode == 0 and out.stdout.startswith("trace -145 +- 0 ")


def test_hessian_dense(tmp_path):
    out = run("hessian", "scipy.optimize:rosen_der", "--n", "6", "--out", str(tmp_path / "h.npy"))
    assert out.returncode == 0, out.stderr
    ref = rosen_hess(np.full(6, 0.5))
    np.testing.assert_allclose(np.load(tmp_path / "h.npy"), ref, rtol=0, atol=1e-6 * 302)


def test_progress_bar_with_eta_on_stderr():
    out = run("diag", "scipy.optimize:rosen_der", "--n", "20", "--probes", "200", "--progress")
    assert out.returncode == 0 and "200/200" in out.stderr
    assert "ETA" in out.stderr or "<00:00" in out.stderr  # the plain bar, or tqdm's


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    out = run("diag", "rosenbrock", "--n", "20", "--exact", "--plot", str(tmp_path / "d.png"))
    assert out.returncode == 0 and (tmp_path / "d.png").stat().st_size > 0


def test_bench_runs_from_a_checkout_and_says_so_otherwise():
    from hessprobe.cli.simple import bench_script

    script = bench_script()
    if script is not None:  # an editable install: the quick suite (tests/test_bench_quick.py)
        assert script == ROOT / "bench" / "run.py"
        return
    out = run("bench")
    assert out.returncode == 2 and "ship with the source" in out.stderr


BAD = {
    "unknown function": (["diag", "nope"], "unknown function 'nope'"),
    "no such module": (["diag", "no_such_module:g"], "cannot import module 'no_such_module'"),
    "no such attribute": (["trace", "scipy.optimize:nope"], "has no function 'nope'"),
    "missing file": (["diag", "rosenbrock", "--x", "missing.npy"], "cannot read --x"),
    "not a npy file": (["diag", "rosenbrock", "--x", "bad.npy"], "cannot read --x"),
    "wrong shape": (["hessian", "rosenbrock", "--x", "x2d.npy"], "must hold a 1-D array"),
    "n disagrees": (["diag", "rosenbrock", "--x", "x.npy", "--n", "3"], "disagrees"),
    "negative probes": (["trace", "rosenbrock", "--probes", "-5"], "got -5"),
    "zero n": (["trace", "rosenbrock", "--n", "0"], "got 0"),
    "bad tol": (["trace", "rosenbrock", "--tol", "-1"], "tol must be"),
    "too small": (["diag", "rosenbrock", "--n", "1"], "ValueError"),
    "no command": ([], "required"),
    "plot on trace": (["trace", "rosenbrock", "--plot", "t.png"], "unrecognized"),
    "unwritable out": (["trace", "rosenbrock", "--out", "/no/such/dir/t.npy"], "cannot write"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_is_one_line_and_exit_code_2(case, tmp_path):
    args, message = BAD[case]
    (tmp_path / "bad.npy").write_text("not numpy")
    np.save(tmp_path / "x2d.npy", np.ones((2, 3)))
    np.save(tmp_path / "x.npy", np.ones(4))
    out = run(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert message in out.stderr


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch, capsys):
    from hessprobe.cli import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    code = main(["diag", "rosenbrock", "--n", "5", "--exact", "--plot", "d.png", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "--plot needs matplotlib" in err and err.count("\n") == 1
