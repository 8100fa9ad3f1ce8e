"""The command line: ``hessprobe COMMAND`` (or ``python -m hessprobe COMMAND``).

Commands: ``info``, ``demo``, ``bench`` (the quick benchmark suite, from a checkout) and
``diag`` / ``trace`` / ``hessian`` of a built-in function (by name) or of a gradient
``module:function``.  ``hessprobe COMMAND --help`` lists each one's options.  Bad input
(an unknown function, an unreadable file, a wrong shape, negative probes) is reported as
one line on stderr with exit code 2.

Examples
--------
>>> from hessprobe.cli import main
>>> main(["trace", "styblinski_tang", "--n", "10", "--probes", "8", "--no-progress"])
trace -145 +- 0 (8 probes, 8 HVPs)
0
"""

from __future__ import annotations

import sys

from .errors import CliError
from .parser import build_parser

__all__ = ["CliError", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return 130
    except CliError as exc:
        return _fail(parser.prog, args.command, str(exc))
    except Exception as exc:  # the library's or the user's gradient's: one line, no traceback
        return _fail(parser.prog, args.command, f"{type(exc).__name__}: {exc}")
    return code


def _fail(prog: str, command: str, message: str) -> int:
    print(f"{prog} {command}: error: {message}", file=sys.stderr)
    return 2
