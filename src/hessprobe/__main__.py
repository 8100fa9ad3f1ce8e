"""``python -m hessprobe``: the command line of :mod:`hessprobe.cli`."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
