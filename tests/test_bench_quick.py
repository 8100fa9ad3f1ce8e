"""The benchmark suite's smoke run works, with or without JAX, PyTorch and numdifftools.

``python bench/run.py --quick`` measures tiny sizes only; it is run here so that the
benchmarks cannot silently rot.  Its numbers are not checked (no timing thresholds in
tests); its outputs are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run.py"


# Runs the script with the optional alternatives unimportable, as if not installed (an
# import hook, not None in sys.modules, which SciPy's array-API checks would trip on).
WITHOUT_ALTERNATIVES = """
import importlib.abc, runpy, sys

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("jax", "jaxlib", "torch", "numdifftools"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.skipif(not BENCH.exists(), reason="bench/ is not part of this checkout")
@pytest.mark.parametrize("alternatives", ["installed", "absent"])
def test_quick_benchmark_runs_and_writes_its_outputs(tmp_path: Path, alternatives: str) -> None:
    prefix = (
        [sys.executable]
        if alternatives == "installed"
        else [sys.executable, "-c", WITHOUT_ALTERNATIVES]
    )
    run = subprocess.run(
        [*prefix, str(BENCH), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    table = (tmp_path / "results.md").read_text()
    assert "| task |" in table and "hessprobe" in table
    results = json.loads((tmp_path / "results.json").read_text())
    assert results  # raw numbers were recorded
    if any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        # issue 13: the compiled user function's rows and their targets, in the same run
        keys = {r["key"] for r in results["rows"] if r["status"] == "ok"}
        assert {"hp_cxx_hvp", "hp_cxx_blk"} <= keys
        assert any(k.startswith("hp_cxx_hutch_t") for k in keys)
        assert any(t["issue"] == "#13" and t["status"] != "n/a" for t in results["targets"])


DUAL_BENCH = BENCH.parent / "dual.py"


@pytest.mark.skipif(not DUAL_BENCH.exists(), reason="bench/ is not part of this checkout")
def test_dual_benchmark_runs_and_reports_its_targets(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(DUAL_BENCH),
            "--sizes",
            "1e3",
            "--repeats",
            "1",
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    table = (tmp_path / "dual.md").read_text()
    for row in (
        "one call on 8 dual lanes",
        "`hp.hvp` dual, 8 directions",
        "Hutchinson 100 probes, dual",
    ):
        line = next(line for line in table.splitlines() if row in line)
        assert line.rstrip().endswith(("PASS |", "MISS |")), line


COLOURING_BENCH = BENCH.parent / "colouring.py"


@pytest.mark.skipif(not COLOURING_BENCH.exists(), reason="bench/ is not part of this checkout")
def test_colouring_benchmark_runs_and_prints_its_rows() -> None:
    run = subprocess.run(
        [sys.executable, str(COLOURING_BENCH), "--quick"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    for row in ("band b=1", "band b=2", "grid 5-point", "grid 7-point", "arrowhead"):
        assert row in run.stdout, run.stdout
