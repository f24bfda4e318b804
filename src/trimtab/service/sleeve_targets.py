"""Accounts whose target is in sleeves, laid out against that target for measuring drift.

The daily evaluation and the Account Details page measure such an account (model or APM
sleeves, or protected shares) against the target a request would propose to: laid out as a
request lays it out (:func:`~trimtab.service.proposing.with_sleeves`: model sleeves blended
line by line, each APM target a line of its own on a twin code holding the APM sleeve's
shares), and protected shares kept at their weight ``P`` in the account, the target, band
and cash target of every other line scaled by ``1 - P``, as the rules scale them when
proposing (docs/rules.md, "Weights").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, CompoundSelect, Select, select, union

from trimtab.core.batch import AccountBatch
from trimtab.core.book import BookArrays
from trimtab.core.rules import keep_protected, protected_share
from trimtab.io.book_sleeves import BookSleeves
from trimtab.service.proposing import request_inputs, with_sleeves
from trimtab.service.snapshot import Snapshot, snapshot_of
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork


def protected_accounts(firm: str) -> Select[Any]:
    """The accounts of ``firm`` with protected shares."""
    p = t.account_sleeve_positions.c
    return select(p.account_id).where(p.firm_id == firm, p.sleeve == "protected").distinct()


def on_sleeves(firm: str) -> CompoundSelect[Any]:
    """The accounts of ``firm`` with model or APM sleeves or protected shares: those of a
    date that :func:`measured_on_sleeves` takes, and others."""
    s = t.account_sleeves.c
    return union(select(s.account_id).where(s.firm_id == firm), protected_accounts(firm))


def measured_on_sleeves(firm: str) -> ColumnElement[bool]:
    """Which of a date's ``account_days`` rows are measured against sleeves: an account with
    model or APM sleeves, or one with a model and protected shares. (An account with neither
    a model nor model or APM sleeves on that date has no target, protected shares or not.)"""
    d, s = t.account_days.c, t.account_sleeves.c
    with_sleeves = d.account_id.in_(select(s.account_id).where(s.firm_id == firm))
    return with_sleeves | (d.model_id.is_not(None) & d.account_id.in_(protected_accounts(firm)))


@dataclass(frozen=True, slots=True)
class SleevedBook:
    """Some accounts laid out against the targets of their sleeves.

    Attributes:
        snapshot: the accounts of the book date (account code = index in its
            ``account_ids``, sorted) and the names behind the codes.
        arrays: their layout, blends as extra models and APM securities on twin codes.
        batch: every account of ``arrays``, its target, band and cash target those of the
            sleeves with protected shares kept at their weight.
        symbols: the symbol of each code, twins included (``arrays.slot_symbol``'s codes).
        sleeves: the twin codes and protected shares.
    """

    snapshot: Snapshot
    arrays: BookArrays
    batch: AccountBatch
    symbols: tuple[str, ...]
    sleeves: BookSleeves

    def class_of(self) -> npt.NDArray[np.int32]:
        """The sub-asset class code of every symbol code, twins as their security, and -1
        appended (for padding slots)."""
        of = self.snapshot.sub_asset_class
        out: npt.NDArray[np.int32] = np.r_[of, of[self.sleeves.twin_of], -1].astype(np.int32)
        return out


def lay_out_sleeved(
    uow: UnitOfWork, *, as_of: date, account_ids: list[str], trade_day: date
) -> SleevedBook:
    """``account_ids`` (in the book of ``as_of``) laid out against their sleeves, as a
    request trading on ``trade_day`` lays them out, protected shares kept at their weight."""
    inputs = request_inputs(uow, as_of=as_of, account_ids=account_ids, trade_day=trade_day)
    snap = snapshot_of(as_of, inputs.snapshot)
    loaded, sleeves = with_sleeves(inputs, snap, inputs.account_rows())
    arrays = loaded.arrays
    batch = arrays.batch(0, arrays.size)
    if sleeves.protected:
        code = {a: i for i, a in enumerate(snap.account_ids)}
        account = np.array([code[a] for a, _, _ in sleeves.protected], dtype=np.int32)
        slot = arrays.slots_of(account, np.array([s for _, s, _ in sleeves.protected], np.int32))
        protected = np.zeros(batch.quantity.shape)
        np.add.at(protected, (account, slot), [q for _, _, q in sleeves.protected])
        _, _, share, rest = protected_share(batch, protected)
        batch = keep_protected(batch, share, rest)
    return SleevedBook(snap, arrays, batch, tuple(loaded.symbols), sleeves)
