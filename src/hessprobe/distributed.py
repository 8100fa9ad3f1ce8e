"""Probing and HVP blocks on any ``concurrent.futures`` executor, bitwise the local result.

``executor=`` on the estimators (:func:`~hessprobe.hutchinson_diag`,
:func:`~hessprobe.hutchinson_trace`, with or without ``tol=``), on the column and colour
recoveries of :func:`~hessprobe.hessian` and :func:`~hessprobe.hessian_diag`, and on
:class:`~hessprobe.HessianOperator` (its ``matmat`` blocks) takes any
:class:`concurrent.futures.Executor`: a Dask cluster's ``Client.get_executor()``, a
``ProcessPoolExecutor``, a ``ThreadPoolExecutor``, ``mpi4py.futures.MPIPoolExecutor``,
...  This module owns what travels, how the work is cut, and how it comes back.

What travels
    A task is (source, x, seed, first block, blocks, threads per worker).  The source
    goes as the caller gave it (a built-in pickles as its constructor; a Python gradient
    as the executor pickles functions: plain pickle for a process pool, cloudpickle for
    Dask; a :class:`~hessprobe.NativeFactory` as its factory, which rebuilds the
    ``scipy.LowLevelCallable`` on the worker) and is prepared once per worker process.
    With a Dask executor, source and x are scattered to every worker once
    (``Client.scatter(..., broadcast=True)``); with any other executor they go with
    each task (a task is a run of blocks, not one block).  Workers run the core with
    ``threads`` threads each (default 1: Dask workers start with ``OMP_NUM_THREADS=1``,
    and a process pool already has one process per core).

Bitwise the local run
    Probing runs in blocks of 8 probes, and a local run adds block b's per-coordinate
    sums into its totals in block order.  A task runs a share of the blocks with the
    same code and returns each block's sums apart (the core's partial runs); the caller
    adds them in block order with the core's own reduction
    (``cpp/include/hessprobe/partials.hpp``).  So the estimate, its standard error and
    the trace samples are bitwise those of the local run with the same seed, whatever
    the number of workers and the order in which they finish.  A diagonal run first
    computes probe 0 alone (one HVP): every block's sums are shifted by its samples.  With
    ``tol=``, at most two blocks per worker are in flight; they are added in order and
    the target is checked after each block as the local run checks it, so the run stops
    at the same block (blocks computed past it are discarded).  HVP blocks are cut into
    runs of rows, each row computed as it is locally.

Failures
    A worker's exception reaches the caller with its type and message (the executor
    re-raises it); the other tasks are cancelled.  A lost worker's task is retried where
    the executor does it (Dask reschedules it) or the call fails (a process pool raises
    ``BrokenProcessPool``): never a smaller sample, and ``est.probes`` is always the
    number of probes used.  Ctrl-C (``KeyboardInterrupt``) cancels the outstanding tasks.
    A source that cannot be pickled meets any executor but a thread pool with a
    ``TypeError`` naming ``executor=`` and the source.

Progress
    ``progress=`` hears of the probes done as blocks are added, in block order.

Examples
--------
>>> from concurrent.futures import ThreadPoolExecutor
>>> import numpy as np
>>> import hessprobe as hp
>>> f, x = hp.functions.rosenbrock(), np.linspace(-1.0, 1.0, 100)
>>> with ThreadPoolExecutor(2) as pool:
...     est = hp.hutchinson_diag(f, x, 100, seed=3, executor=pool)
>>> bool(np.array_equal(est.value, hp.hutchinson_diag(f, x, 100, seed=3).value))
True
"""

from __future__ import annotations

import math
import os
import pickle
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _core
from ._validation import resolve_threads
from .kinds.base import Callback, PartialResult, Prepared, ProbeResult
from .kinds.gradient import Scheme

__all__ = ["DistributedPrepared", "attach", "check_executor"]

_F64 = NDArray[np.float64]

#: Shares per worker of a run without a target: enough to balance uneven workers.
SHARES_PER_WORKER = 4
#: Blocks in flight per worker of a run with a target (each share one block).
WAVE_PER_WORKER = 2
#: The most bytes of per-block sums one share returns (its blocks x 2 n doubles).
SHARE_BYTES = 64 << 20
#: HVP rows per share: a multiple of the 8 lanes of a pass.
ROW_QUANTUM = 8


def check_executor(executor: Any) -> Executor | None:
    """Return ``executor`` if it is None or a ``concurrent.futures.Executor``, else raise."""
    if executor is None or isinstance(executor, Executor):
        return executor
    raise TypeError(
        "executor must be a concurrent.futures.Executor (a Dask Client.get_executor(), "
        f"a ProcessPoolExecutor, ...) or None, got {type(executor).__name__}"
    )


def _dask_client(executor: Executor) -> Any:
    """Return the Dask client behind a ``Client.get_executor()``, else None."""
    if type(executor).__module__.startswith("distributed."):
        return getattr(executor, "_client", None)
    return None


def _worker_count(executor: Executor, client: Any) -> int:
    if client is not None:
        threads: dict[str, int] = client.nthreads()  # worker address -> threads
        return max(1, sum(threads.values()))
    count = getattr(executor, "_max_workers", None)  # the standard pools
    if isinstance(count, int) and count > 0:
        return count
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Payload:
    """What every task needs: the source as given, its options, the point, a run token."""

    token: str
    source: Any
    scheme: Scheme | None
    step: float | None
    point: _F64


#: Payloads prepared in this process (a worker's), by token: a worker prepares a source
#: once per run, not once per task.
_PREPARED: OrderedDict[str, Prepared] = OrderedDict()
_PREPARED_LOCK = threading.Lock()
_PREPARED_KEEP = 4


def _prepared(payload: Payload) -> Prepared:
    from .sources import prepare

    with _PREPARED_LOCK:
        found = _PREPARED.get(payload.token)
        if found is not None:
            _PREPARED.move_to_end(payload.token)
            return found
    made = prepare(payload.source, payload.point, payload.scheme, payload.step)
    with _PREPARED_LOCK:
        _PREPARED[payload.token] = made
        while len(_PREPARED) > _PREPARED_KEEP:
            _PREPARED.popitem(last=False)
    return made


def _probe_share(
    payload: Payload,
    probes: int,
    seed: int,
    first: int,
    count: int,
    threads: int,
    diagonal: bool,
    reference: _F64 | None,
) -> PartialResult:
    """Run blocks first .. first + count - 1 of a probing run (a task, on a worker)."""
    return _prepared(payload).probe_blocks(probes, seed, first, count, threads, diagonal, reference)


def _hvp_share(payload: Payload, V: _F64, threads: int, unit: bool) -> _F64:
    """Return the HVPs of the rows of V, unit-like directions when ``unit`` (a task)."""
    prepared = _prepared(payload)
    return prepared.unit_hvp(V, threads) if unit else prepared.hvp(V, threads)


def _check_picklable(executor: Executor, client: Any, payload: Payload) -> None:
    """Refuse, naming executor= and the source, a payload the executor cannot send."""
    if isinstance(executor, ThreadPoolExecutor):
        return  # same process: nothing is pickled
    dumps = pickle.dumps
    if client is not None or not _is_process_pool(executor):
        try:  # Dask (and Ray) pickle with cloudpickle
            import cloudpickle

            dumps = cloudpickle.dumps
        except ImportError:  # pragma: no cover - Dask depends on cloudpickle
            pass
    try:
        dumps(payload)
    except Exception as err:
        native = "LowLevelCallable" in type(payload.source).__name__
        hint = (
            "a scipy.LowLevelCallable holds a pointer into this process: pass "
            "hessprobe.NativeFactory(make) with a picklable make() that builds it on the worker"
            if native
            else "use a module-level function (or functools.partial), or a thread pool"
        )
        raise TypeError(
            f"executor=: the source {payload.source!r} cannot be pickled to reach the "
            f"workers of {type(executor).__name__} ({type(err).__name__}: {err}); {hint}"
        ) from err


def _is_process_pool(executor: Executor) -> bool:
    from concurrent.futures import ProcessPoolExecutor

    return isinstance(executor, ProcessPoolExecutor)


class _Tasks:
    """The futures of one call: cancelled all together if it fails or is interrupted."""

    def __init__(self) -> None:
        self.pending: dict[Future[Any], int] = {}

    def cancel(self) -> None:
        for future in self.pending:
            future.cancel()
        self.pending.clear()

    def next_done(self) -> list[tuple[int, Any]]:
        """Wait for at least one task; return (key, result) of those done (raises theirs)."""
        done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
        out = []
        for future in done:
            key = self.pending.pop(future)
            out.append((key, future.result()))
        return out


class DistributedPrepared(Prepared):
    """A prepared source whose probing and HVP blocks run on an executor's workers.

    The rest (g(x), f(x), a built-in's own Hessian and diagonal kernels: one core call
    each) runs in the caller, on the local preparation.
    """

    def __init__(
        self, local: Prepared, executor: Executor, source: Any, scheme: Any, step: Any, threads: int
    ) -> None:
        super().__init__(local.source, local.point)
        self.local, self.executor, self.threads = local, executor, threads
        self.client = _dask_client(executor)
        self.workers = _worker_count(executor, self.client)
        self.payload = Payload(uuid.uuid4().hex, source, scheme, step, local.point)
        _check_picklable(executor, self.client, self.payload)
        self._shipped: Any = None

    def __repr__(self) -> str:
        return f"<{self.local!r} on {type(self.executor).__name__}>"

    @property
    def bandwidth(self) -> int | None:
        return self.local.bandwidth

    def _arg(self) -> Any:
        """Return the payload as a task argument: scattered once to every Dask worker."""
        if self.client is None:
            return self.payload
        if self._shipped is None:
            self._shipped = self.client.scatter(self.payload, broadcast=True, hash=False)
        return self._shipped

    def _share_arg(self, array: _F64) -> Any:
        if self.client is None:
            return array
        return self.client.scatter(array, broadcast=True, hash=False)

    # What runs in the caller.
    def hessian_kernel(self, threads: int) -> _F64 | None:
        return self.local.hessian_kernel(threads)

    def diagonal_kernel(self, threads: int, out: _F64 | None = None) -> _F64 | None:
        return self.local.diagonal_kernel(threads, out)

    def gradient(self, threads: int) -> _F64:
        return self.local.gradient(threads)

    def value(self) -> float | None:
        return self.local.value()

    # What runs on the workers.
    def hvp(self, V: _F64, threads: int) -> _F64:
        return self._rows(V, unit=False)

    def unit_hvp(self, V: _F64, threads: int) -> _F64:
        return self._rows(V, unit=True)

    def _rows(self, V: _F64, unit: bool) -> _F64:
        k = V.shape[0]
        size = ROW_QUANTUM * max(1, math.ceil(k / (self.workers * ROW_QUANTUM)))
        out = np.empty_like(V)
        tasks = _Tasks()
        try:
            for first in range(0, k, size):
                rows = np.ascontiguousarray(V[first : first + size])
                future = self.executor.submit(_hvp_share, self._arg(), rows, self.threads, unit)
                tasks.pending[future] = first
            while tasks.pending:
                for first, HV in tasks.next_done():
                    rows = min(size, k - first)
                    if np.shape(HV) != (rows, self.n):
                        raise RuntimeError(
                            f"executor=: a worker returned HVPs of shape {np.shape(HV)} "
                            f"for {rows} rows"
                        )
                    out[first : first + rows] = HV
        except BaseException:
            tasks.cancel()
            raise
        return out

    def probe(
        self,
        probes: int,
        seed: int,
        threads: int,
        diagonal: bool,
        tol: float,
        progress: Callback | None = None,
    ) -> ProbeResult:
        lanes = int(_core.probe_lanes)
        total = -(-probes // lanes)
        reduction = _core.ProbeReduction(self.n, probes, diagonal)
        tasks = _Tasks()
        counts: dict[int, int] = {}  # blocks of the share from each first block
        arrived: dict[int, tuple[int, PartialResult]] = {}
        reference: Any = None

        def submit(first: int, count: int) -> None:
            future = self.executor.submit(
                _probe_share,
                self._arg(),
                probes,
                seed,
                first,
                count,
                self.threads,
                diagonal,
                reference,
            )
            tasks.pending[future] = first
            counts[first] = count

        def absorb() -> bool:
            """Add the shares that are next in block order; True once the target is met."""
            while reduction.blocks in arrived:
                first = reduction.blocks
                count, (d, dd, r, samples) = arrived.pop(first)
                self._check_share(first, count, probes, diagonal, d, dd, samples)
                for j in range(count):
                    block = first + j
                    active = min(lanes, probes - block * lanes)
                    reduction.add(
                        None if d is None else d[j],
                        None if dd is None else dd[j],
                        r if block == 0 else None,
                        samples[j * lanes : j * lanes + active],
                    )
                    if progress is not None:
                        progress(int(reduction.done), probes)
                    if tol > 0 and reduction.target_met(tol):
                        return True
            return False

        def collect() -> None:
            for first, result in tasks.next_done():
                arrived[first] = (counts[first], result)

        try:
            if diagonal and total > 1:
                # The blocks' sums are shifted by r, probe 0's samples: first a run of
                # that one probe (lane 0 alone, computed exactly as in a block of 8).
                future = self.executor.submit(
                    _probe_share, self._arg(), 1, seed, 0, 1, self.threads, True, None
                )
                tasks.pending[future] = -1
                ((_, (_, _, r, _)),) = tasks.next_done()
                reference = self._share_arg(r)
            if tol > 0:
                window = WAVE_PER_WORKER * self.workers
                following = 0
                while reduction.blocks < total:
                    while following < total and len(tasks.pending) < window:
                        submit(following, 1)
                        following += 1
                    collect()
                    if absorb():
                        break
            else:
                per_share = max(1, math.ceil(total / (SHARES_PER_WORKER * self.workers)))
                per_share = min(per_share, max(1, SHARE_BYTES // (16 * self.n)))
                for first in range(0, total, per_share):
                    submit(first, min(per_share, total - first))
                while reduction.blocks < total:
                    collect()
                    absorb()
        except BaseException:
            tasks.cancel()
            raise
        if self.client is None:  # blocks past a met target; Dask's finish on their own
            tasks.cancel()  # (cancelling a finishing Dask task logs a spurious error)
        result: ProbeResult = reduction.finish()
        return result

    def _check_share(
        self,
        first: int,
        count: int,
        probes: int,
        diagonal: bool,
        d: _F64 | None,
        dd: _F64 | None,
        samples: _F64,
    ) -> None:
        lanes = int(_core.probe_lanes)
        expected = min(probes, (first + count) * lanes) - first * lanes
        shape = (count, self.n)
        ok = np.shape(samples) == (expected,)
        if diagonal:
            ok = ok and d is not None and dd is not None and d.shape == shape == dd.shape
        if not ok:
            raise RuntimeError(
                f"executor=: a worker returned a share of blocks {first} .. {first + count - 1} "
                f"with {np.shape(samples)[0]} samples, not {expected}"
            )


def attach(
    prepared: Prepared,
    executor: Any,
    source: Any,
    scheme: Scheme | None,
    step: float | None,
    threads: int | None,
) -> Prepared:
    """Return ``prepared`` itself (``executor`` None), or it on the executor's workers.

    ``source``, ``scheme`` and ``step`` are what the caller gave (they travel and are
    prepared again on the workers); ``threads`` is per worker (None: 1).
    """
    pool = check_executor(executor)
    if pool is None:
        return prepared
    per_worker = 1 if threads is None else resolve_threads(threads)
    return DistributedPrepared(prepared, pool, source, scheme, step, per_worker)
