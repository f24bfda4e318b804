"""Rebalancing policies: on which market days which accounts are rebalanced.

- ``calendar:monthly`` / ``calendar:quarterly`` / ``calendar:annual``: every managed account
  on the first market day of each month (quarter, year) after the first day;
- ``bands``: the accounts with a security outside its band (the models' ``min_pct`` and
  ``max_pct``): the ``out_of_band`` trigger;
- ``triggers``: the accounts any of the service's daily triggers flags; those flagged for
  cash alone (cash high or low, a deposit or a withdrawal) get a partial rebalance, as the
  service's programme has it (:func:`cash_only`);
- ``cash-flow``: the accounts with a deposit or withdrawal since the previous evaluation;
- ``hold``: never (buy and hold: dividends and cash flows only).

Every policy but ``calendar`` and ``hold`` reads the daily evaluation: the service's trigger
functions (:func:`trimtab.core.triggers.evaluate_triggers`) on the previous market day's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from trimtab.core.triggers import REASONS, TriggerFlags
from trimtab.errors import InputError


class Kind(StrEnum):
    CALENDAR = "calendar"
    BANDS = "bands"
    TRIGGERS = "triggers"
    CASH_FLOW = "cash-flow"
    HOLD = "hold"


PERIODS = ("monthly", "quarterly", "annual")
CASH_REASONS = ("cash_high", "cash_low", "deposit", "withdrawal")
"""The triggers that call for a partial rebalance: the cash is invested (deposit) or raised
(withdrawal) to the cash the account is meant to hold, and nothing else is traded."""


@dataclass(frozen=True, slots=True)
class Policy:
    """A policy and, for ``calendar``, its period."""

    kind: Kind
    period: str | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.period}" if self.period else str(self.kind)

    @property
    def evaluates(self) -> bool:
        """Whether the policy reads the daily evaluation's triggers."""
        return self.kind in (Kind.BANDS, Kind.TRIGGERS, Kind.CASH_FLOW)

    def due(self, flags: TriggerFlags | None) -> npt.NDArray[np.bool_] | None:
        """Accounts the evaluation flags for this policy, (N,); ``None``: not an evaluating
        policy."""
        if flags is None or not self.evaluates:
            return None
        if self.kind is Kind.BANDS:
            return flags.out_of_band
        if self.kind is Kind.CASH_FLOW:
            out: npt.NDArray[np.bool_] = flags.deposit | flags.withdrawal
            return out
        fired: npt.NDArray[np.bool_] = np.any(flags.matrix(), axis=1)
        return fired

    @property
    def partial(self) -> bool:
        """Whether accounts flagged for cash alone get a partial rebalance (``triggers``)."""
        return self.kind is Kind.TRIGGERS


def cash_only(flags: TriggerFlags) -> npt.NDArray[np.bool_]:
    """Accounts flagged for cash alone: one of :data:`CASH_REASONS` and no other reason.

    A partial rebalance occurs if cash gets too high ($330 above its target) or too low
    (below 0.3% two days in a row), and a deposit is invested in the most underweight
    holdings first: the rest of the account is not traded for it. An account flagged for
    any other reason (drift, a changed target, ...) is rebalanced by the policy's logic."""
    cash = np.zeros_like(flags.skipped)
    other = np.zeros_like(flags.skipped)
    for reason in REASONS:
        if reason in CASH_REASONS:
            cash |= getattr(flags, reason)
        else:
            other |= getattr(flags, reason)
    out: npt.NDArray[np.bool_] = cash & ~other
    return out


def parse_policies(text: str) -> list[Policy]:
    """``calendar:quarterly,bands,...`` as policies; a bad name is an error on ``--policies``."""
    out: list[Policy] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind_text, _, period = part.partition(":")
        try:
            kind = Kind(kind_text)
        except ValueError:
            names = ", ".join(k.value for k in Kind)
            raise InputError("--policies", f"unknown policy {part!r} (one of {names})") from None
        if kind is Kind.CALENDAR:
            if period not in PERIODS:
                raise InputError(
                    "--policies", f"{part!r}: give the period, calendar:{'|'.join(PERIODS)}"
                )
            out.append(Policy(kind, period))
        elif period:
            raise InputError("--policies", f"{part!r}: only calendar takes a period")
        else:
            out.append(Policy(kind))
    if not out:
        raise InputError("--policies", "name at least one policy")
    return out


def calendar_days(days: npt.NDArray[np.datetime64], period: str) -> npt.NDArray[np.bool_]:
    """The first market day of each month (quarter, year) of ``days``, the first day
    excluded, (T,)."""
    month = days.astype("datetime64[M]").astype(np.int64)
    key = {"monthly": month, "quarterly": month // 3, "annual": month // 12}[period]
    out: npt.NDArray[np.bool_] = np.r_[False, key[1:] != key[:-1]]
    return out
