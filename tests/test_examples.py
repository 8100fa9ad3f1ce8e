"""Every script in examples/ runs as documented, and the numbers it prints are checked
against independent references (analytic derivatives, scipy.optimize.rosen_hess)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import rosen_hess

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name, *args):
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    numbers = {}
    for line in out.stdout.splitlines():
        key, sep, rest = line.rpartition(": ")
        if sep:
            numbers[key] = np.array([float(v) for v in rest.split()])
    return numbers, out.stdout


def test_every_example_is_tested():
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(CHECKS)


def check_hutchinson_basics(out):
    # f = x^3 + 2x^2 + 5x + 1: f''(2) = 16; sum x^2 + 2 sum sin x: H_ii = 2 - 2 sin x_i
    np.testing.assert_allclose(out["scalar estimate"], 16.0, rtol=1e-6)
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(out["multivariate estimate"], 2 - 2 * np.sin(x), atol=1e-7)
    np.testing.assert_array_equal(out["multivariate stderr"], 0.0)
    X = np.arange(1.0, 7.0)
    np.testing.assert_allclose(out["batch estimate"], 2 - 2 * np.sin(X), atol=1e-7)
    err = out["rosenbrock relative error at 8 32 128 512 probes"]
    assert np.all(np.diff(err) < 0) and err[-1] < 0.05  # shrinks like 1/sqrt(probes)


def check_pearlmutter_check(out):
    x, v = np.array([2.2, 0.21]), np.array([1.2, 3.1])
    gold = rosen_hess(x) @ v
    np.testing.assert_allclose(out["rosen_hess(x) @ v"], gold, rtol=1e-10)
    assert np.abs(out["exact HVP - gold"]).max() <= 1e-12 * np.abs(gold).max()
    assert np.abs(out["central-difference HVP - gold"]).max() <= 1e-8 * np.abs(gold).max()
    np.testing.assert_allclose(out["exact diagonal"], [5726.0, 200.0])
    z = (out["30-probe estimate"] - [5726.0, 200.0]) / out["30-probe stderr"]
    assert np.abs(z).max() < 4
    big = np.linspace(-1.0, 1.5, 1_000_000)
    ref = np.diag(rosen_hess(big[:4]))[:3]
    np.testing.assert_allclose(out["n = 10^6: first three diagonal entries"], ref, rtol=1e-9)


def check_network_hessians(out):
    assert out["parameters"][0] == 13
    assert out["max |HVP - H v| / max |H v|"][0] < 1e-12
    assert out["max |dual HVP - complex-step HVP| / max |HVP|"][0] < 1e-12  # both exact
    assert out["max |diagonal - diag(H)|"][0] < 1e-12
    start, trained = out["loss at the start and after training"]
    assert trained < 1e-3 * start
    # near a minimum the residual term vanishes: J'J approaches H
    assert out["Gauss-Newton relative error ||J'J - H|| / ||H|| at the start"][0] > 0.1
    assert out["Gauss-Newton relative error ||J'J - H|| / ||H|| trained"][0] < 1e-3
    assert out["Gauss-Newton smallest eigenvalue (PSD)"][0] >= -1e-10
    assert out["Hutchinson 400 probes: max |estimate - diag(H)| / stderr"][0] < 5


def check_optimize_with_hvps(out):
    assert out["AdaHessian f"][0] < 1e-2 and out["AdaHessian max |x - 1|"][0] < 0.1
    assert out["trust-krylov success"][0] == 1
    assert out["trust-krylov max |x - 1|"][0] < 1e-4  # the minimizer is x = 1
    assert out["trust-krylov (FD HVPs) max |x - 1|"][0] < 1e-4


CHECKS = {
    "hutchinson_basics.py": check_hutchinson_basics,
    "pearlmutter_check.py": check_pearlmutter_check,
    "network_hessians.py": check_network_hessians,
    "optimize_with_hvps.py": check_optimize_with_hvps,
}


@pytest.mark.parametrize("name", list(CHECKS), ids=list(CHECKS))
def test_example_prints_the_reference_numbers(name, tmp_path):
    # with matplotlib the same run also plots (one run per example keeps the suite fast)
    png = tmp_path / "plot.png"
    plotting = importlib.util.find_spec("matplotlib") is not None
    numbers, text = run(name, "--plot", str(png))
    CHECKS[name](numbers)
    if plotting:
        assert png.stat().st_size > 0 and f"plot saved to {png}" in text
    else:
        assert "(no plot, matplotlib is not installed)" in text
