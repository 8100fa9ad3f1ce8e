"""Sphinx configuration: ``sphinx-build -W -b html docs docs/_build/html`` (and ``-b doctest``)."""

from __future__ import annotations

from typing import Any

import hessprobe

project = "hessprobe"
author = "the hessprobe developers"
copyright = "2026, the hessprobe developers"
version = release = hessprobe.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.doctest", "numpydoc"]
exclude_patterns = ["_build"]
html_theme = "alabaster"

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False


def _plain_bars(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Escape the bars of plain-text absolute values, |x|, which reST reads as substitutions.

    ``Literals`` and doctest lines are left alone.
    """
    for i, line in enumerate(lines):
        if not line.lstrip().startswith((">>>", "...")):
            parts = line.split("``")
            parts[::2] = [part.replace("|", "\\|") for part in parts[::2]]
            lines[i] = "``".join(parts)


def setup(app: Any) -> None:
    """Register the docstring filter."""
    app.connect("autodoc-process-docstring", _plain_bars)


# every >>> block of the guide and the API pages runs (sphinx-build -b doctest)
doctest_global_setup = "import numpy as np\nimport hessprobe as hp"
import doctest  # noqa: E402

doctest_default_flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
