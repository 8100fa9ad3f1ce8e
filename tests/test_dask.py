"""executor= on a Dask LocalCluster: bitwise the local run, a raising and a killed worker.

Skipped without dask[distributed] (the ``distributed`` extra).  One cluster of two
worker processes (one thread each, with nannies) serves the module; one of two
in-process workers checks the threads flavour.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import rosen_der

import hessprobe as hp

distributed = pytest.importorskip("distributed")

N = 100
PROBES = 99


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


def point() -> np.ndarray:
    return np.linspace(-1.2, 1.1, N)


def same(a: Any, b: Any) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


SOURCES = {
    "rosenbrock": hp.functions.rosenbrock(),
    "rosen_der": rosen_der,
    "lambda": lambda z: rosen_der(z),  # cloudpickle carries it
    "rosen_der-dual": hp.Gradient(rosen_der, scheme="dual"),  # dual numbers
}


@pytest.mark.parametrize("name", list(SOURCES))
@pytest.mark.parametrize("tol", [None, 0.05], ids=["all-probes", "tol"])
@pytest.mark.parametrize("estimator", [hp.hutchinson_diag, hp.hutchinson_trace])
def test_probing_on_a_cluster_is_bitwise_the_local_run(
    client: Any, name: str, tol: float | None, estimator: Any
) -> None:
    src, x = SOURCES[name], point()
    local = estimator(src, x, PROBES, seed=4, tol=tol)
    remote = estimator(src, x, PROBES, seed=4, tol=tol, executor=client.get_executor())
    assert remote.probes == local.probes
    assert same(remote.value, local.value) and same(remote.stderr, local.stderr)


def test_hvp_blocks_on_a_cluster_are_bitwise_the_local_ones(client: Any) -> None:
    x, ex = point()[:30], client.get_executor()
    V = np.random.default_rng(2).normal(size=(30, 19))
    assert same(hp.hessian(rosen_der, x, executor=ex), hp.hessian(rosen_der, x))
    op, local = hp.HessianOperator(rosen_der, x, executor=ex), hp.HessianOperator(rosen_der, x)
    assert same(op.matmat(V), local.matmat(V))


def test_a_threads_cluster_is_bitwise_the_local_run() -> None:
    x = point()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        remote = hp.hutchinson_diag(rosen_der, x, PROBES, executor=c.get_executor())
    local = hp.hutchinson_diag(rosen_der, x, PROBES)
    assert same(remote.value, local.value) and same(remote.stderr, local.stderr)


def raising_gradient(x: np.ndarray) -> np.ndarray:
    raise FloatingPointError("the model diverged")


def test_a_workers_exception_reaches_the_caller(client: Any) -> None:
    with pytest.raises(FloatingPointError, match="the model diverged"):
        hp.hutchinson_trace(raising_gradient, point(), PROBES, executor=client.get_executor())


class DieOnce:
    """A gradient whose first call anywhere kills its worker process (a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return rosen_der(x)
        os.close(fd)
        os._exit(1)  # the nanny restarts the worker; the scheduler reruns its task


def test_a_killed_workers_blocks_are_rerun_not_dropped(client: Any, tmp_path: Path) -> None:
    x = point()
    remote = hp.hutchinson_diag(
        DieOnce(tmp_path / "died"), x, PROBES, seed=9, executor=client.get_executor()
    )
    assert (tmp_path / "died").exists()
    local = hp.hutchinson_diag(rosen_der, x, PROBES, seed=9)
    assert remote.probes == PROBES
    assert same(remote.value, local.value) and same(remote.stderr, local.stderr)
    client.wait_for_workers(2)


def test_a_native_factory_rebuilds_the_low_level_callable_on_the_workers(
    client: Any, native: Any
) -> None:
    from test_executor import make_native

    x = point()
    factory = hp.NativeFactory(make_native, native.lib._name)
    remote = hp.hutchinson_diag(factory, x, PROBES, seed=3, executor=client.get_executor())
    local = hp.hutchinson_diag(native.callable(), x, PROBES, seed=3)
    assert same(remote.value, local.value) and same(remote.stderr, local.stderr)
