"""Ctrl-C stops a long run within about one block of probes (KeyboardInterrupt).

Each test sends SIGINT to this process from a timer thread once the run is under way and
expects KeyboardInterrupt.  The runs would take minutes to finish by themselves; a
missed interrupt shows as the run completing (the test fails) rather than as a hang.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import hessprobe as hp

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread() or os.name != "posix",
    reason="SIGINT is delivered to the main thread on POSIX",
)


@pytest.fixture(autouse=True)
def _sigint_raises_keyboard_interrupt():
    # A process started in the background by a non-interactive shell inherits SIGINT
    # ignored, and Python then leaves it ignored: the SIGINT below would be lost and the
    # run would go on for hours.  Install Python's default handler for these tests.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.parametrize("threads", [1, 2])
def test_builtin_probing_is_interruptible(threads: int) -> None:
    # 2e5 coordinates x 2e6 probes is ~4e11 lane-coordinates: far beyond the test's
    # lifetime, so only the interrupt can end it.
    x = np.full(200_000, 0.5)
    timer = _interrupt_after(0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            hp.hutchinson_diag(
                hp.functions.rosenbrock(), x, hvps=2_000_000, threads=threads, structure="none"
            )
    finally:
        timer.cancel()


@pytest.mark.parametrize("threads", [1, 2])
def test_python_gradient_probing_is_interruptible(threads: int) -> None:
    def slow_grad(z: np.ndarray) -> np.ndarray:
        time.sleep(0.01)
        return 2.0 * z

    timer = _interrupt_after(0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            hp.hutchinson_diag(
                slow_grad, np.ones(10), hvps=100_000, threads=threads, structure="none"
            )
    finally:
        timer.cancel()
