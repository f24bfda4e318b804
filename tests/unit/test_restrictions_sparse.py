"""The sparse restriction kernels: a batch gives each account what it gives it alone, the
per-account sums match numpy's dense ones bit for bit, and the inputs are left unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from trimtab.core.batch import BATCH_FIELDS, AccountBatch
from trimtab.core.logics import Plan
from trimtab.core.restrictions import (
    Restricted,
    SlotRestrictions,
    _row_sums,
    collapse,
    collapsed,
    expand,
    restrict_batch,
)

RESTRICTED = ("target", "lower", "upper", "in_model", "cash_target", "no_sell", "no_buy", "flags")


def random_inputs(seed: int, n: int = 12, k: int = 6) -> tuple[dict[str, Any], AccountBatch]:
    """Random weights, targets and restrictions of every kind (some rows unrestricted)."""
    rng = np.random.default_rng(seed)
    valid = np.arange(k) < rng.integers(0, k + 1, size=n)[:, None]
    in_model = valid & (rng.random((n, k)) < 0.7)
    weight = rng.random((n, k)) * valid
    weight /= weight.sum(axis=1, keepdims=True) + rng.random((n, 1))
    target = rng.random((n, k)) * in_model
    target /= target.sum(axis=1, keepdims=True) + 0.2
    lower, upper = target * 0.9, target * 1.1
    behaviour = np.where(rng.random((n, k)) < 0.3, rng.integers(1, 4, (n, k)), 0)
    substitute = np.where(rng.random((n, k)) < 0.3, rng.integers(0, k, (n, k)), -1)
    lead = np.full((n, k), -1, dtype=np.int32)
    several = np.zeros((n, k), dtype=bool)
    for i in range(n):
        slots = [int(j) for j in rng.permutation(k)[: rng.integers(0, 5)]]
        for group in (slots[:2], slots[2:]):
            lead[i, group] = min(group, default=-1)
            several[i, group] = len(group) > 1
    slots = SlotRestrictions(
        behaviour=behaviour.astype(np.int8),
        replacement=rng.integers(1, 3, (n, k)).astype(np.int8),
        substitute=substitute.astype(np.int32),
        lead=lead,
        member=rng.integers(0, 5, (n, k)).astype(np.int8),
        several=several,
    )
    kw = dict(
        weight=weight,
        target=target,
        lower=lower,
        upper=upper,
        in_model=in_model,
        cash_target=np.maximum(1.0 - target.sum(axis=1), 0.0),
        slots=slots,
    )
    quantity = np.round(rng.random((n, k)) * 100 * valid)
    batch = AccountBatch(
        price=np.where(valid, rng.choice([1.0, 10.0, 37.5], (n, k)), 1.0),
        quantity=quantity,
        target=target,
        lower=lower,
        upper=upper,
        in_model=in_model,
        valid=valid,
        cash=rng.random(n) * 1000,
        cash_target=kw["cash_target"],
        sell_limit=np.round(quantity * rng.random((n, k))),
        buy_allowed=valid & (rng.random((n, k)) < 0.8),
    )
    return kw, batch


def row(kw: dict[str, Any], i: int) -> dict[str, Any]:
    """The inputs of account ``i`` alone; odd accounts take theirs from indexed restrictions
    (``SlotRestrictions.indexed``), cut to the account."""
    one = {name: value[i : i + 1] for name, value in kw.items() if name != "slots"}
    slots = kw["slots"].indexed() if i % 2 else kw["slots"]
    return one | {"slots": slots.rows(i, i + 1)}


def same(a: Restricted, b: Restricted, i: int) -> None:
    for name in RESTRICTED:
        assert np.array_equal(getattr(a, name)[i : i + 1], getattr(b, name)), name


@pytest.mark.parametrize("seed", range(40))
def test_each_account_is_restricted_as_alone(seed: int) -> None:
    kw, _ = random_inputs(seed)
    before = {name: np.copy(value) for name, value in kw.items() if name != "slots"}
    whole = restrict_batch(**kw)
    for name, value in before.items():
        assert np.array_equal(kw[name], value), f"{name} changed"
    for i in range(kw["target"].shape[0]):
        same(whole, restrict_batch(**row(kw, i)), i)
    indexed = restrict_batch(**(kw | {"slots": kw["slots"].indexed()}))
    for name in RESTRICTED:
        assert np.array_equal(getattr(whole, name), getattr(indexed, name)), name


@pytest.mark.parametrize("seed", range(40))
def test_each_account_is_collapsed_and_expanded_as_alone(seed: int) -> None:
    kw, batch = random_inputs(seed)
    groups = restrict_batch(**kw).groups
    if groups is None:
        return
    before = {f: np.copy(getattr(batch, f)) for f in BATCH_FIELDS}
    merged = collapse(batch, groups)
    for f in BATCH_FIELDS:
        assert np.array_equal(getattr(batch, f), before[f]), f"{f} changed"
    rng = np.random.default_rng(seed)
    n, k = batch.price.shape
    dollars = rng.normal(0.0, 500.0, (n, k)) * (rng.random((n, k)) < 0.7)
    full = rng.random((n, k)) < 0.2
    reason = rng.integers(0, 1 << 20, (n, k)).astype(np.uint32)
    zeros = np.zeros(n, dtype=np.int8)
    plan = Plan(dollars.copy(), full.copy(), reason.copy(), zeros, zeros)
    shared = expand(plan, batch, groups)
    for i in range(n):
        alone = restrict_batch(**row(kw, i)).groups
        one = batch.rows(i, i + 1)
        if alone is None:
            continue
        merged_alone = collapse(one, alone)
        for f in BATCH_FIELDS:
            assert np.array_equal(getattr(merged, f)[i : i + 1], getattr(merged_alone, f)), f
        z = zeros[:1]
        single = Plan(
            dollars[i : i + 1].copy(), full[i : i + 1].copy(), reason[i : i + 1].copy(), z, z
        )
        single = expand(single, one, alone)
        assert np.array_equal(shared.dollars[i : i + 1], single.dollars)
        assert np.array_equal(shared.full_sell[i : i + 1], single.full_sell)
        assert np.array_equal(shared.reason[i : i + 1], single.reason)


@pytest.mark.parametrize("seed", range(20))
def test_row_sums_match_dense_sums(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = 50, int(rng.integers(1, 40))
    at = np.flatnonzero(rng.random(n * k) < rng.random())
    values = rng.normal(size=at.size) * 10.0 ** rng.integers(-8, 8, at.size)
    dense = np.zeros(n * k)
    dense[at] = values
    assert np.array_equal(_row_sums((n, k), at, values), dense.reshape(n, k).sum(axis=1))


def small_group_batch() -> tuple[AccountBatch, Any]:
    """One account: slots 0 and 2 are one equivalents group (lead 0), slot 1 is not, slot 3
    is padding wrongly marked as a model line; sell limit and quantity, model lines and
    buys share one array each, as in a batch without rules."""
    quantity = np.array([[10.0, 4.0, 5.0, 0.0]])
    in_model = np.array([[True, True, False, True]])
    batch = AccountBatch(
        price=np.array([[20.0, 50.0, 8.0, 1.0]]),
        quantity=quantity,
        target=np.array([[0.3, 0.4, 0.1, 0.0]]),
        lower=np.array([[0.25, 0.35, 0.05, 0.0]]),
        upper=np.array([[0.35, 0.45, 0.15, 0.0]]),
        in_model=in_model,
        valid=np.array([[True, True, True, False]]),
        cash=np.array([100.0]),
        cash_target=np.array([0.2]),
        sell_limit=quantity,
        buy_allowed=in_model,
    )
    slots = SlotRestrictions.none(1, 4)
    slots.lead[0, [0, 2]] = 0
    slots.several[0, [0, 2]] = True
    groups = restrict_batch(
        weight=np.zeros((1, 4)),
        target=batch.target,
        lower=batch.lower,
        upper=batch.upper,
        in_model=batch.in_model & batch.valid,
        cash_target=batch.cash_target,
        slots=slots,
    ).groups
    return batch, groups


def test_collapse_merges_a_group_into_its_lead() -> None:
    batch, groups = small_group_batch()
    merged = collapse(batch, groups)
    # The lead holds the group's dollars (10 x $20 + 5 x $8) at $1 a share.
    assert merged.price.tolist() == [[1.0, 50.0, 1.0, 1.0]]
    assert merged.quantity.tolist() == [[240.0, 4.0, 0.0, 0.0]]
    assert merged.sell_limit.tolist() == [[240.0, 4.0, 0.0, 0.0]]
    assert np.allclose(merged.target, [[0.4, 0.4, 0.0, 0.0]])
    assert np.allclose(merged.lower, [[0.3, 0.35, 0.0, 0.0]])
    assert np.allclose(merged.upper, [[0.5, 0.45, 0.0, 0.0]])
    assert merged.valid.tolist() == [[True, True, False, False]]
    # The invalid slot is no model line in an account with groups.
    assert merged.in_model.tolist() == [[True, True, False, False]]
    assert merged.buy_allowed.tolist() == [[True, True, False, False]]


def test_collapsed_in_place_equals_the_copy_and_puts_everything_back() -> None:
    batch, groups = small_group_batch()
    before = {f: np.copy(getattr(batch, f)) for f in BATCH_FIELDS}
    copy = collapse(batch, groups)
    with collapsed(batch, groups) as merged:
        assert merged.quantity is batch.quantity  # no copy
        for f in BATCH_FIELDS:
            assert np.array_equal(getattr(merged, f), getattr(copy, f)), f
    for f in BATCH_FIELDS:
        assert np.array_equal(getattr(batch, f), before[f]), f"{f} not put back"
    with pytest.raises(RuntimeError), collapsed(batch, groups):
        raise RuntimeError("the logic failed")
    for f in BATCH_FIELDS:
        assert np.array_equal(getattr(batch, f), before[f]), f"{f} not put back after an error"


def test_collapsed_copies_read_only_arrays() -> None:
    batch, groups = small_group_batch()
    batch.price.flags.writeable = False
    with collapsed(batch, groups) as merged:
        assert merged.price is not batch.price
        assert merged.quantity.tolist() == [[240.0, 4.0, 0.0, 0.0]]
    assert batch.quantity.tolist() == [[10.0, 4.0, 5.0, 0.0]]


@pytest.mark.parametrize("seed", range(20))
def test_collapsed_in_place_equals_the_copy_on_random_batches(seed: int) -> None:
    kw, batch = random_inputs(seed)
    groups = restrict_batch(**kw).groups
    if groups is None:
        return
    before = {f: np.copy(getattr(batch, f)) for f in BATCH_FIELDS}
    copy = collapse(batch, groups)
    with collapsed(batch, groups) as merged:
        for f in BATCH_FIELDS:
            assert np.array_equal(getattr(merged, f), getattr(copy, f)), f
    for f in BATCH_FIELDS:
        assert np.array_equal(getattr(batch, f), before[f]), f


@pytest.mark.parametrize("seed", range(20))
def test_restricting_in_place_gives_the_same(seed: int) -> None:
    kw, _ = random_inputs(seed)
    copied = restrict_batch(**kw)
    mine = {name: np.copy(kw[name]) for name in ("target", "lower", "upper")}
    in_place = restrict_batch(**(kw | mine), overwrite=True)
    for name in RESTRICTED:
        assert np.array_equal(getattr(copied, name), getattr(in_place, name)), name
    if kw["slots"].excluded_at().size:
        assert in_place.target is mine["target"]
