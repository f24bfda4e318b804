"""The optimisers' exact bounded subset-sums against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from trimtab.optimize.subset import largest_at_most, smallest_at_least


def _case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    cents = rng.integers(1, 40, n).astype(np.int64)
    room = rng.integers(0, 5, n).astype(np.int64)
    sums = np.array(
        [int(np.dot(k, cents)) for k in itertools.product(*[range(r + 1) for r in room])]
    )
    return cents, room, sums


@pytest.mark.parametrize("seed", range(30))
def test_largest_at_most(seed: int) -> None:
    cents, room, sums = _case(seed)
    limit = int(np.random.default_rng(100 + seed).integers(0, 150))
    counts = largest_at_most(cents, room, limit)
    assert np.all((counts >= 0) & (counts <= room))
    assert int(counts @ cents) == int(sums[sums <= limit].max())


@pytest.mark.parametrize("seed", range(30))
def test_smallest_at_least(seed: int) -> None:
    cents, room, sums = _case(seed)
    target = int(np.random.default_rng(200 + seed).integers(0, 150))
    limit = target + 40
    counts = smallest_at_least(cents, room, target, limit)
    reachable = sums[(sums >= target) & (sums <= limit)]
    if reachable.size == 0:
        assert counts is None
    else:
        assert counts is not None
        assert np.all((counts >= 0) & (counts <= room))
        assert int(counts @ cents) == int(reachable.min())
