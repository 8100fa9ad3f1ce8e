"""Every example in the public docstrings runs and prints what it says (doctest).

The examples are run from the installed package, so they check the documentation a user
reads against the library a user gets.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hessprobe",
    "hessprobe.functions",
    "hessprobe.sources",
    "hessprobe.kinds.gradient",
    "hessprobe.kinds.finite_difference",
    "hessprobe.hvp",
    "hessprobe.estimators",
    "hessprobe._info",
    "hessprobe.scipy_adapters",
    "hessprobe.dense",
    "hessprobe.spectra",
    "hessprobe.gauss_newton",
    "hessprobe.optim",
    "hessprobe.sketching",
    "hessprobe.structured",
    "hessprobe.tracing",
    "hessprobe.sparsity",
    "hessprobe.selection",
    "hessprobe.progress",
    "hessprobe.distributed",
    "hessprobe.cli",
    "hessprobe.compiled",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
