"""The core's partial probing runs and their reduction (cpp/include/hessprobe/partials.hpp).

A run of P probes is blocks 0 .. ceil(P / 8) - 1.  Cut into shares of any sizes, each share
run alone (with r, probe 0's samples, from a run of that one probe) and the shares' per-block
sums added in block order by ProbeReduction give bitwise the whole run: the diagonal, its
stderr, the trace, its stderr and the samples.  With a target, the reduction meets it
after the block at which the whole run stops.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.optimize import rosen_der

import hessprobe as hp
from hessprobe import _core
from hessprobe.sources import prepare

LANES = int(_core.probe_lanes)


def reduce_shares(p: Any, probes: int, seed: int, diagonal: bool, cuts: list[int]) -> Any:
    """The run assembled from shares starting at the blocks in ``cuts`` (0 first)."""
    total = -(-probes // LANES)
    bounds = [*cuts, total]
    reference = p.probe_blocks(1, seed, 0, 1, 1, True, None)[2] if diagonal else None
    shares = {
        a: p.probe_blocks(probes, seed, a, b - a, 1, diagonal, None if a == 0 else reference)
        for a, b in zip(bounds[:-1], bounds[1:])
    }
    reduction = _core.ProbeReduction(p.n, probes, diagonal)
    for a, b in zip(bounds[:-1], bounds[1:]):
        d, dd, r, samples = shares[a]
        for j in range(b - a):
            block = a + j
            active = min(LANES, probes - LANES * block)
            reduction.add(
                None if d is None else d[j],
                None if dd is None else dd[j],
                r if block == 0 else None,
                samples[LANES * j : LANES * j + active],
            )
    return reduction


SOURCES = {
    "rosenbrock": hp.functions.rosenbrock(),  # chunked schedule
    "ackley": hp.functions.ackley(),  # blocked schedule
    "rosen_der": rosen_der,  # finite differences
}


@pytest.mark.parametrize("name", list(SOURCES))
@pytest.mark.parametrize("diagonal", [True, False], ids=["diagonal", "trace"])
@pytest.mark.parametrize("cuts", [[0], [0, 1], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5, 6]])
def test_shares_reduce_to_the_whole_run_bitwise(name: str, diagonal: bool, cuts: list[int]) -> None:
    p = prepare(SOURCES[name], np.linspace(-1.2, 1.1, 700))  # two coordinate chunks
    whole = p.probe(53, 8, 2, diagonal, 0.0)
    parts = reduce_shares(p, 53, 8, diagonal, cuts).finish()
    for a, b in zip(whole, parts):
        assert (a is None and b is None) or np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("diagonal", [True, False], ids=["diagonal", "trace"])
def test_the_target_is_met_at_the_block_the_whole_run_stops(diagonal: bool) -> None:
    p, tol = prepare(hp.functions.rosenbrock(), np.linspace(-1.2, 1.1, 300)), 0.05
    stopped = len(p.probe(400, 3, 1, diagonal, tol)[4])
    assert stopped < 400
    reduction = _core.ProbeReduction(p.n, 400, diagonal)
    met_at = None
    reference = p.probe_blocks(1, 3, 0, 1, 1, True, None)[2] if diagonal else None
    for block in range(50):
        d, dd, r, samples = p.probe_blocks(400, 3, block, 1, 1, diagonal, reference)
        reduction.add(None if d is None else d[0], None if dd is None else dd[0], r, samples)
        if reduction.target_met(tol):
            met_at = reduction.done
            break
    assert met_at == stopped


def test_a_reduction_refuses_what_does_not_fit() -> None:
    reduction = _core.ProbeReduction(4, 9, False)
    with pytest.raises(ValueError, match="block 0 has 8 samples"):
        reduction.add(None, None, None, np.zeros(3))
    reduction.add(None, None, None, np.zeros(8))
    reduction.add(None, None, None, np.zeros(1))
    with pytest.raises(ValueError, match="every block of the run was added"):
        reduction.add(None, None, None, np.zeros(1))
    p = prepare(hp.functions.rosenbrock(), np.zeros(4))
    with pytest.raises(ValueError, match=r"blocks \[1, 3\) are not within the 2 blocks"):
        p.probe_blocks(9, 0, 1, 2, 1, False, None)
    with pytest.raises(ValueError, match="needs the reference r"):
        p.probe_blocks(9, 0, 1, 1, 1, True, None)
