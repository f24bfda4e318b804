"""Writing proposals: the JSON of ``proposal-format.md`` and the rows of ``propose-book``.

Rounding at this boundary: dollars to the cent, weights to 4 decimals of a percent,
quantities to the share unit (whole shares print as integers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trimtab.core.book import BookArrays
from trimtab.core.engine import BatchProposal, Method
from trimtab.core.household import household_weights
from trimtab.core.lots import Sale, needs_approval
from trimtab.core.partial import class_drift
from trimtab.core.reasons import Message, Status, describe_line, describe_reason

WHOLE_SHARE_EPSILON = 1e-9
"""Shares within this of a whole number are written as that whole number."""


def _qty(q: float, decimals: int | None) -> float | int:
    """Shares as written: whole shares as integers; with whole-share rounding a quantity
    that is not whole (the full sale of a fractional holding) keeps its fraction, so that
    quantity x price is the order value."""
    if decimals is None:
        whole = round(q)
        return whole if abs(q - whole) <= WHOLE_SHARE_EPSILON else round(q, 9)
    return round(q, decimals)


def _money(x: float) -> float:
    return round(float(x) + 0.0, 2) + 0.0


def _pct(x: float) -> float:
    return round(float(x) * 100.0, 4) + 0.0


def action_of(quantity: float) -> str:
    """``buy``, ``sell`` or ``none`` for a signed quantity."""
    return "buy" if quantity > 0 else "sell" if quantity < 0 else "none"


@dataclass(frozen=True, slots=True)
class AccountRuleOutput:
    """What an account's rules add to its proposal.

    Attributes:
        rule_reason: :class:`RuleReason` flags per slot, (K,).
        target: targets after restrictions, fractions of account value, (K,).
        sales: lots relieved and gains realised, by slot.
        limited: rules blocked or limited trades the logic wanted.
        shaped: rules kept shares unsold and the logic traded others instead.
        qualified: untaxed registration (no approval for gains).
    """

    rule_reason: npt.NDArray[np.uint32]
    target: npt.NDArray[np.float64]
    sales: Mapping[int, Sale]
    limited: bool
    qualified: bool
    shaped: bool = False


def _sale_fields(sale: Sale, decimals: int | None) -> dict[str, Any]:
    return {
        "lots": [
            {
                "lot_id": r.lot_id,
                "acquired": r.acquired.isoformat(),
                "quantity": _qty(r.quantity, decimals if decimals is not None else 9),
                "cost_basis": None if r.cost_basis is None else _money(r.cost_basis),
                "proceeds": _money(r.proceeds),
                "gain": None if r.gain is None else _money(r.gain),
                "term": "long" if r.long_term else "short",
            }
            for r in sale.reliefs
        ],
        "short_term_gain": _money(sale.short_term_gain),
        "long_term_gain": _money(sale.long_term_gain),
        "gain_unknown": sale.unknown_basis,
    }


def _rule_fields(rules: AccountRuleOutput, messages: list[str]) -> dict[str, Any]:
    short = sum(s.short_term_gain for s in rules.sales.values())
    long = sum(s.long_term_gain for s in rules.sales.values())
    gain = short + long
    required = needs_approval(gain, qualified=rules.qualified)
    if rules.limited and Message.RULES_LIMITED.text not in messages:
        messages.append(Message.RULES_LIMITED.text)
    elif rules.shaped and Message.RULES_SHAPED.text not in messages:
        messages.append(Message.RULES_SHAPED.text)
    if required:
        messages.append(
            f"The proposal realises ${gain:,.2f} of gains in a non-qualified account: "
            "it needs an approver."
        )
    return {
        "realized_gain": {
            "short_term": _money(short),
            "long_term": _money(long),
            "total": _money(gain),
        },
        "approval": {"required": required, "realized_gain": _money(gain)},
    }


def account_proposal(
    *,
    account_id: str,
    row: int,
    local: int,
    book: BookArrays,
    proposal: BatchProposal,
    symbols: tuple[str, ...],
    share_decimals: int | None,
    rules: AccountRuleOutput | None = None,
) -> dict[str, Any]:
    """One account of a proposal, as in ``proposal-format.md``.

    ``row`` is the account's index in ``book``; ``local`` its index in ``proposal``.
    """
    trades = []
    slots = book.slot_symbol[row]
    width = book.model_width
    targets = np.zeros(slots.shape[0])
    targets[:width] = book.model_target[book.account_model[row]]
    for k in np.flatnonzero(slots >= 0):
        q = float(proposal.quantity[local, k])
        price = float(book.price[slots[k]])
        trades.append(
            {
                "symbol": symbols[slots[k]],
                "action": action_of(q),
                "trade_value": _money(abs(proposal.trade_value[local, k])),
                "price": price,
                "quantity": _qty(abs(q), share_decimals),
                "order_value": _money(abs(proposal.order_value[local, k])),
                "weight_before_pct": _pct(proposal.weight_before[local, k]),
                "target_pct": _pct(targets[k]),
                "weight_after_pct": _pct(proposal.weight_after[local, k]),
                "in_model": bool(k < width),
                "reason": describe_reason(int(proposal.reason[local, k])),
            }
        )
        if rules is not None:
            line = trades[-1]
            line["reason"] = describe_line(
                int(proposal.reason[local, k]),
                int(rules.rule_reason[k]),
                buying=q > 0,
                selling=q < 0,
            )
            line["rule_target_pct"] = _pct(rules.target[k])
            sale = rules.sales.get(int(k))
            if sale is not None:
                line.update(_sale_fields(sale, share_decimals))
    status = Status(int(proposal.status[local]))
    message = Message(int(proposal.message[local]))
    messages = [message.text] if message else []
    extra = _rule_fields(rules, messages) if rules is not None else {}
    return {
        "id": account_id,
        "status": status.label,
        "messages": messages,
        "value": _money(proposal.value[local]),
        "cash_before": _money(book.cash[row]),
        "cash_after": _money(proposal.cash_after[local]),
        "cash_target_pct": _pct(book.model_cash[book.account_model[row]]),
        "trades": trades,
        **extra,
    }


def proposal_document(method: Method, accounts: list[dict[str, Any]]) -> dict[str, Any]:
    """The top-level proposal: the worst account status, and every account's messages."""
    order = ["success", "part_success", "failed"]
    status = max((a["status"] for a in accounts), key=order.index, default="success")
    messages: list[str] = []
    for a in accounts:
        messages.extend(m for m in a["messages"] if m not in messages)
    return {
        "status": status,
        "messages": messages,
        "method": method.value,
        "accounts": accounts,
        "household": None,
    }


def exit_code(document: dict[str, Any]) -> int:
    """0 for success and part success, 1 for a failed proposal."""
    return 1 if document["status"] == "failed" else 0


STATUS_LABELS = np.array([s.label for s in Status])
MESSAGE_TEXTS = np.array([m.text for m in Message])


def sub_asset_classes(
    classes: list[str | None], width: int
) -> tuple[tuple[str, ...], npt.NDArray[np.int32]]:
    """Class names in sorted order and the class code of each slot, (1, width), -1 for none.

    ``classes`` is the sub-asset class of each slot, in slot order (``None`` for none).
    """
    names = tuple(sorted({c for c in classes if c is not None}))
    code = {name: i for i, name in enumerate(names)}
    out = np.full((1, width), -1, dtype=np.int32)
    for k, c in enumerate(classes):
        if c is not None:
            out[0, k] = code[c]
    return names, out


def class_drift_fields(
    *,
    names: tuple[str, ...],
    classes: npt.NDArray[np.int32],
    book: BookArrays,
    row: int,
    proposal: BatchProposal,
    local: int,
    withdrawn: float,
) -> dict[str, Any]:
    """Drift by sub-asset class before and after, percent points, by class name.

    Weight minus target summed over a class's model lines; after the trades the weights
    are of the value left once ``withdrawn`` dollars leave the account.
    """
    width = classes.shape[1]
    target = np.zeros((1, width))
    target[0, : book.model_width] = book.model_target[book.account_model[row]]
    price = book.price[book.slot_symbol[row : row + 1]]
    held = book.quantity[row : row + 1]
    value = proposal.value[local : local + 1]
    before = class_drift(held * price, value, target, classes, len(names))
    after_dollars = (held + proposal.quantity[local : local + 1]) * price
    after = class_drift(after_dollars, value - withdrawn, target, classes, len(names))
    return {
        "sub_asset_class_drift_before_pct": {n: _pct(before[0, i]) for i, n in enumerate(names)},
        "sub_asset_class_drift_pct": {n: _pct(after[0, i]) for i, n in enumerate(names)},
    }


def household_fields(
    *,
    household_id: str,
    book: BookArrays,
    proposal: BatchProposal,
    symbols: Sequence[str],
    rows: npt.NDArray[np.intp] | None = None,
) -> dict[str, Any]:
    """The ``household`` object: household weights by symbol before and after, percent, of
    the accounts ``rows`` of ``book`` and ``proposal`` (all of them by default)."""
    rows = np.arange(book.size) if rows is None else rows
    slots = book.slot_symbol
    price = book.price[slots]
    before, cash_before = household_weights(book.quantity * price, book.cash, slots, rows)
    after, cash_after = household_weights(
        (book.quantity + proposal.quantity) * price, proposal.cash_after, slots, rows
    )
    return {
        "id": household_id,
        "weights_before_pct": {symbols[s]: _pct(w) for s, w in sorted(before.items())},
        "weights_after_pct": {symbols[s]: _pct(after.get(s, 0.0)) for s in sorted(before)},
        "cash_before_pct": _pct(cash_before),
        "cash_after_pct": _pct(cash_after),
    }
