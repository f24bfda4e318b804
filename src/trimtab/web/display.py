"""How the pages write numbers, moments and codes: the template filters.

Dollars with two decimals and thousands separators, shares as stored (no rounding, no
trailing zeros), percent points with two decimals; moments in Chicago time, where the
market's cut-offs are. Codes (trade logics, request statuses, queue reasons, restriction
fields) get the words the seed documents use.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment

from trimtab.service.market import CHICAGO

LOGICS = {
    "best_fit": "Best Fit",
    "minimum_transaction": "Minimum Transaction",
    "rebalance_to_target": "Rebalance to Target",
    "rebalance_to_tolerance": "Rebalance to Tolerance",
    "rebalance_to_tolerance_oot_only": "Rebalance to Tolerance (out-of-tolerance only)",
    "invest_cash_proportional": "Invest Cash (proportional)",
    "invest_cash_min_trades": "Invest Cash (minimum trades)",
    "generate_cash": "Generate Cash",
    "household_rebalance": "Household Rebalance",
    "deposit": "Deposit",
    "withdrawal": "Withdrawal",
}
"""Every trade logic, Best Fit and Minimum Transaction first (the seed's two)."""

STATUSES = {
    "proposing": "Proposing",
    "pending": "Pending Approval",
    "complete": "Complete",
    "complete_with_errors": "Complete with Errors",
    "failed": "Failed",
    "expired": "Expired",
    "canceled": "Canceled",
}
"""A request's status in the seed's words."""

HISTORY_STATUSES = ("complete", "complete_with_errors", "failed", "expired", "canceled")

REASONS = {
    "target_changed": "Target changed",
    "out_of_band": "Outside drift parameters",
    "class_drift_6m": "Sub-asset class drift (6 months)",
    "class_drift_2d": "Sub-asset class drift (2 days)",
    "toggled": "Rebalancing toggled on, off, on",
    "no_trade": "No trade for a long time",
    "cash_high": "Cash high",
    "cash_low": "Cash low",
    "deposit": "Deposit",
    "withdrawal": "Withdrawal",
    "restriction_ended": "Restriction ended",
}
"""The evaluation's trigger codes (:data:`trimtab.core.triggers.REASONS`) in words."""

AMOUNTS = {
    "cash_to_generate": "Cash to generate ($ per account)",
    "mccar_pct": "Minimum cash (% of value)",
    "cash_to_invest": "Cash to invest ($ per account)",
    "min_trade_value": "Minimum trade ($)",
}

RESTRICTION_TYPES = {
    "exclusion": "Exclusion",
    "substitution": "Substitution",
    "equivalents": "Equivalent Securities",
}
BEHAVIOURS = {
    "hold": "Hold Existing Shares",
    "liquidate_immediately": "Liquidate Existing Shares Immediately",
    "liquidate_as_needed": "Liquidate Existing Shares as Needed",
}
REPLACEMENTS = {
    "hold_cash": "Hold Cash",
    "reallocate": "Reallocate to the rest of the portfolio",
}
END_ACTIONS = {
    "rebalance_immediately": (
        "Immediately rebalance the account to reallocate to the excluded security"
    ),
    "wait_for_weight_change": (
        "Reallocate to the excluded security when a model or I change its target weight"
    ),
}
MEMBER_BEHAVIOURS = {
    "none": "No Behavior",
    "buy_first": "Buy First",
    "do_not_sell": "Do not sell",
    "do_not_buy": "Do not buy",
    "do_not_trade": "Do not trade",
}
LOCK_TYPES = {
    "gain": "Gain lock",
    "elective": "Elective lock",
    "cost_basis_unlock": "Cost basis unlock",
}
DRIFT_LABELS = {
    "sac_soft_pct": "Sub-asset class soft band (points)",
    "sac_soft_days": "Soft band days",
    "sac_hard_pct": "Sub-asset class hard band (points)",
    "cash_high_usd": "Cash high ($ above sweep or model cash)",
    "cash_low_pct": "Cash low (% of value)",
    "sweep_pct": "Cash sweep target (% of value)",
    "sweep_min_usd": "Cash sweep minimum ($)",
    "no_trade_days": "Days without a trade",
}
"""The drift parameters (:data:`trimtab.service.accounts.DRIFT_PARAMETERS`) as labels."""

LOT_METHODS = {
    "fifo": "First in, first out",
    "lifo": "Last in, first out",
    "hifo": "Highest cost first",
    "minimum_tax": "Minimum tax",
}


def dollars(value: Decimal | float | None) -> str:
    """``$1,234.50``; a negative amount ``-$1,234.50``; nothing for ``None``."""
    if value is None:
        return ""
    amount = Decimal(value) if not isinstance(value, Decimal) else value
    text = f"{abs(amount):,.2f}"
    return f"-${text}" if amount < 0 and text != "0.00" else f"${text}"


def pct(value: Decimal | float | None) -> str:
    """``12.35%``: percent points with two decimals; nothing for ``None``."""
    if value is None:
        return ""
    return f"{Decimal(value) if not isinstance(value, Decimal) else value:,.2f}%"


def shares(value: Decimal | float | int | None) -> str:
    """Shares as stored: every decimal kept, trailing zeros dropped (``12``, ``0.125``)."""
    if value is None:
        return ""
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return format(amount.normalize(), "f") if amount else "0"


def moment(value: datetime | None) -> str:
    """A moment in Chicago time: ``2026-11-20 08:00 CT``."""
    if value is None:
        return ""
    return value.astimezone(CHICAGO).strftime("%Y-%m-%d %H:%M CT")


def day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _label(table: dict[str, str]) -> Any:
    def label(code: str | None) -> str:
        return "" if code is None else table.get(code, code.replace("_", " ").capitalize())

    return label


def install(env: Environment) -> None:
    """Register the filters on the templates' environment."""
    env.filters.update(
        dollars=dollars,
        pct=pct,
        shares=shares,
        plain=shares,  # any stored decimal as typed: no trailing zeros
        moment=moment,
        day=day,
        logic=_label(LOGICS),
        status=_label(STATUSES),
        reason=_label(REASONS),
        restriction_type=_label(RESTRICTION_TYPES),
        behaviour=_label(BEHAVIOURS),
        replacement=_label(REPLACEMENTS),
        end_action=_label(END_ACTIONS),
        member_behaviour=_label(MEMBER_BEHAVIOURS),
        lock_type=_label(LOCK_TYPES),
        lot_method=_label(LOT_METHODS),
    )
    env.globals.update(
        LOGICS=LOGICS,
        STATUSES=STATUSES,
        HISTORY_STATUSES=HISTORY_STATUSES,
        REASONS=REASONS,
        AMOUNTS=AMOUNTS,
        BEHAVIOURS=BEHAVIOURS,
        REPLACEMENTS=REPLACEMENTS,
        END_ACTIONS=END_ACTIONS,
        MEMBER_BEHAVIOURS=MEMBER_BEHAVIOURS,
        LOCK_TYPES=LOCK_TYPES,
        LOT_METHODS=LOT_METHODS,
        DRIFT_LABELS=DRIFT_LABELS,
    )
