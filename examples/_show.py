"""What the examples share: printing named numbers, and an optional plot.

Each line an example prints is ``name: numbers`` (space-separated, 10 significant digits),
so that a reader sees them and tests/test_examples.py can check them.  ``--plot FILE.png``
saves the example's figure when matplotlib is installed (and says so when it is not).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np


def show(name: str, value: Any) -> None:
    """Print ``name: v1 v2 ...``."""
    numbers = " ".join(f"{v:.10g}" for v in np.ravel(np.asarray(value, dtype=float)))
    print(f"{name}: {numbers}")


def plot(draw: Callable[[Any], None]) -> None:
    """Call ``draw(ax)`` and save the figure to the file after ``--plot``, if given."""
    if "--plot" not in sys.argv:
        return
    path = sys.argv[sys.argv.index("--plot") + 1]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plot, matplotlib is not installed)")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    draw(ax)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"plot saved to {path}")
