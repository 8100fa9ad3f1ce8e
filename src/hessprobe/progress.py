"""Progress reports of long runs: a bar (tqdm, or a plain one on stderr) or a callback.

Every long-running function takes ``progress=``: ``None``/``False`` (the default: no
report, no cost), ``True`` for a bar, or a callable called as ``progress(done, total)``.
It is called between blocks of work (a block of 8 probes, of 8 columns or colours, a
Lanczos step, an optimizer step), never per probe, with ``done`` rising to ``total``;
the last call has ``done == total``.  A run that stops early (a target error ``tol=`` met
before the budget, an optimizer converged) ends with a call ``(done, done)``.  An
exception raised by the callback stops the run and reaches the caller.

Examples
--------
>>> import numpy as np
>>> import hessprobe as hp
>>> calls = []
>>> from scipy.optimize import rosen_der
>>> est = hp.hutchinson_trace(rosen_der, np.full(100, 0.5), 20, progress=lambda *a: calls.append(a))
>>> calls
[(8, 20), (16, 20), (20, 20)]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO, Union

from .kinds.base import Callback

__all__ = ["Progress", "Reporter", "TextBar", "reporter"]

#: What ``progress=`` accepts.
Progress = Union[bool, Callback, None]


class TextBar:
    """A plain progress bar on a stream (stderr): done/total, percent, elapsed and ETA.

    The fallback of ``progress=True`` when tqdm is not installed.  It redraws at most
    ten times a second, and once at the end.

    Examples
    --------
    >>> import io
    >>> from hessprobe.progress import TextBar
    >>> out = io.StringIO()
    >>> bar = TextBar(4, "trace", out)
    >>> bar(4, 4)
    >>> bar.close()
    >>> out.getvalue().strip().split(" [")[0]
    'trace: 4/4 (100%)'
    """

    def __init__(self, total: int, desc: str, stream: TextIO | None = None) -> None:
        self.total, self.desc = total, desc
        self.stream = sys.stderr if stream is None else stream
        self.start = self.shown = time.monotonic()
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` (redrawn at most every 0.1 s, and at the end)."""
        self.done, self.total = done, total
        now = time.monotonic()
        if now - self.shown >= 0.1 or done >= total:
            self.shown = now
            self._draw(now - self.start)

    def _draw(self, elapsed: float) -> None:
        frac = self.done / self.total if self.total else 1.0
        eta = elapsed * (1.0 - frac) / frac if frac > 0 else float("nan")
        line = f"{self.desc}: {self.done}/{self.total} ({100 * frac:.0f}%) [{elapsed:.1f}s"
        self.stream.write(f"\r{line}, ETA {eta:.1f}s]")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        self.stream.write("\n")
        self.stream.flush()


class _TqdmBar:
    """``progress=True`` with tqdm: the callback protocol on a ``tqdm.tqdm`` bar."""

    def __init__(self, total: int, desc: str) -> None:
        from tqdm import tqdm

        self.bar: Any = tqdm(total=total, desc=desc)

    def __call__(self, done: int, total: int) -> None:
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _bar(total: int, desc: str) -> TextBar | _TqdmBar:
    try:
        return _TqdmBar(total, desc)
    except ImportError:
        return TextBar(total, desc)


class Reporter:
    """Reports the progress of one run of ``total`` units to a callback (or to nobody).

    Engines call it with the units done; :meth:`finish` makes the last report end at
    the total (``(done, done)`` for a run that stopped early) and closes a bar.  Used as
    a context manager it also closes the bar when the run fails.  Without a callback
    (``progress=None``) every call is a no-op and :attr:`hook` is None, so that the core
    skips the call between its blocks.
    """

    def __init__(
        self, callback: Callback | None, total: int, close: Callable[[], None] | None = None
    ) -> None:
        self.callback, self.total, self._close = callback, total, close
        self.last = (-1, -1)

    @property
    def hook(self) -> Callback | None:
        """The reporter as a callback, or None when nobody listens."""
        return None if self.callback is None else self

    def __call__(self, done: int, total: int | None = None) -> None:
        """Report ``done`` units (of ``total``, default the run's)."""
        if self.callback is None:
            return
        self.last = (done, self.total if total is None else total)
        self.callback(*self.last)

    def finish(self, done: int | None = None) -> None:
        """Report the end, ``(done, done)`` (default the total), unless just reported."""
        end = self.total if done is None else done
        if self.callback is not None and self.last != (end, end):
            self(end, end)
        self.close()

    def close(self) -> None:
        """Close the bar (once; nothing without one)."""
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reporter(progress: Progress, total: int, desc: str) -> Reporter:
    """Return the reporter of ``progress=`` for a run of ``total`` units.

    Raises TypeError for anything but None, a bool or a callable.
    """
    if progress is None or progress is False:
        return Reporter(None, total)
    if progress is True:
        bar = _bar(total, desc)
        return Reporter(bar, total, bar.close)
    if callable(progress):
        return Reporter(progress, total)
    raise TypeError(
        f"progress must be None, a bool or a callable(done, total), got {type(progress).__name__}"
    )
