"""Why each trade line is what it is: bit flags per line, statuses and messages per account.

Kernels set flags in a ``uint32`` array so that reasons cost nothing on the hot path; the
boundary turns them into text with :func:`describe_reason`.
"""

from __future__ import annotations

import functools
from enum import IntEnum, IntFlag


class Reason(IntFlag):
    """Steps and rules that shaped a trade line (several may apply to one line)."""

    NON_MODEL_SELL = 1 << 0
    ABOVE_TARGET_SELL = 1 << 1
    BELOW_TARGET_BUY = 1 << 2
    ABOVE_MAX_SELL = 1 << 3
    BELOW_MIN_BUY = 1 << 4
    TIDE_SELL = 1 << 5
    BUY_SCALED = 1 << 6
    AT_TARGET = 1 << 7
    IN_BAND = 1 << 8
    ROUNDED_TO_ZERO = 1 << 9
    TRIMMED_OVERDRAFT = 1 << 10
    PRO_RATA_SELL = 1 << 11
    ABOVE_TARGET_NO_BUY = 1 << 12
    NOT_OUT_OF_BAND = 1 << 13
    TIDE_BELOW_TARGET = 1 << 14
    INVEST_BUY = 1 << 15
    CASH_RAN_OUT = 1 << 16
    GENERATE_NOT_NEEDED = 1 << 17
    BELOW_MIN_TRADE = 1 << 18
    SELL_LIMITED = 1 << 19
    BUY_BLOCKED = 1 << 20
    FAILED = 1 << 21
    MIN_TRADE_RAISED = 1 << 22
    TRADE_HOLD = 1 << 23


_TEXT: dict[Reason, str] = {
    Reason.NON_MODEL_SELL: "not in the model: sold in full",
    Reason.ABOVE_TARGET_SELL: "above target: sold down to target",
    Reason.BELOW_TARGET_BUY: "below target: bought toward target in proportion to its shortfall",
    Reason.ABOVE_MAX_SELL: "above its maximum: sold down to target",
    Reason.BELOW_MIN_BUY: "below its minimum: bought up to its minimum",
    Reason.TIDE_SELL: "sold by rising tide to fund the buys",
    Reason.BUY_SCALED: "buy scaled down: not enough funds",
    Reason.AT_TARGET: "at target: no trade",
    Reason.IN_BAND: "within its band: no trade",
    Reason.ROUNDED_TO_ZERO: "trade rounds to zero shares",
    Reason.TRIMMED_OVERDRAFT: "buy trimmed so that cash does not go below zero",
    Reason.PRO_RATA_SELL: "sold pro rata to value to raise the remaining cash",
    Reason.ABOVE_TARGET_NO_BUY: "at or above target: not bought",
    Reason.NOT_OUT_OF_BAND: "within its band: only out-of-tolerance securities trade",
    Reason.TIDE_BELOW_TARGET: "sold by rising tide below target, not below its minimum",
    Reason.INVEST_BUY: "below target: bought with available cash",
    Reason.CASH_RAN_OUT: "below target: cash ran out before it was bought",
    Reason.GENERATE_NOT_NEEDED: "not needed to raise the cash",
    Reason.BELOW_MIN_TRADE: "below the minimum trade size: dropped",
    Reason.SELL_LIMITED: "sale limited by a rule",
    Reason.BUY_BLOCKED: "buy blocked by a rule",
    Reason.FAILED: "no trade: the proposal failed",
    Reason.MIN_TRADE_RAISED: "raised to the minimum trade size",
    Reason.TRADE_HOLD: "no trade: the account is on trade hold",
}


def describe_reason(flags: int) -> str:
    """The reason flags of one line as text, steps first, in flag order."""
    parts = [text for flag, text in _TEXT.items() if flags & flag]
    return "; ".join(parts)


class Status(IntEnum):
    """Outcome of one account's proposal."""

    SUCCESS = 0
    PART_SUCCESS = 1
    FAILED = 2

    @property
    def label(self) -> str:
        """The proposal-format spelling."""
        return ("success", "part_success", "failed")[self.value]


class Message(IntEnum):
    """Account-level messages (texts from the product brief where it gives them)."""

    NONE = 0
    NOT_ENOUGH_CASH = 1
    EXCESS_CASH = 2
    NOT_ENOUGH_FOR_TOLERANCE = 3
    CANNOT_COVER = 4
    NOT_ENOUGH_FOR_TARGET = 5
    TRADE_HOLD = 6
    RULES_LIMITED = 7
    RULES_SHAPED = 8
    NOT_PROVEN_OPTIMAL = 9
    OPTIMISER_FALLBACK = 10
    SOLVER_FAILED = 11

    @property
    def text(self) -> str:
        """The message shown to the user."""
        return _MESSAGES[self]


_MESSAGES = {
    Message.NONE: "",
    Message.NOT_ENOUGH_CASH: (
        "There is not enough cash available to buy all securities up to their targets. "
        "Partial results are available."
    ),
    Message.EXCESS_CASH: "Excess cash left over. Partial results are available.",
    Message.NOT_ENOUGH_FOR_TOLERANCE: (
        "There is not enough cash available to bring all securities within their tolerance. "
        "Partial results are available."
    ),
    Message.CANNOT_COVER: "The account cannot cover the cash to generate.",
    Message.NOT_ENOUGH_FOR_TARGET: (
        "There is not enough cash available to buy all securities up to their targets. "
        "Partial results are available."
    ),
    Message.TRADE_HOLD: "The account is on trade hold: no trades are proposed.",
    Message.RULES_LIMITED: (
        "Restrictions, locks or tax rules blocked or limited trades the logic wanted; "
        "each line's reason names the rule. Partial results are available."
    ),
    Message.RULES_SHAPED: (
        "Restrictions, locks or tax rules kept some securities from being sold; "
        "the logic sold others instead."
    ),
    Message.NOT_PROVEN_OPTIMAL: (
        "The optimiser reached its work or time limit before proving an optimum: "
        "these are the best trades it found, not proven optimal."
    ),
    Message.OPTIMISER_FALLBACK: (
        "The optimiser reached its work or time limit without a better solution: "
        "these are the rounded trades of rebalance to target (Best Fit) or to tolerance "
        "(Minimum Transaction), not the optimum."
    ),
    Message.SOLVER_FAILED: (
        "The solver failed on this account: these are the rounded trades of rebalance to "
        "target (Best Fit) or to tolerance (Minimum Transaction), not the optimum."
    ),
}


class RuleReason(IntFlag):
    """Which account rule shaped or blocked a line (kept apart from the steps of :class:`Reason`).

    Sell-side rules (:data:`SELL_RULES`) are shown on lines that are not buys, buy-side rules
    (:data:`BUY_RULES`) on lines that are not sells, the others on every line they mark.
    """

    EXCLUDED_HOLD = 1 << 0
    EXCLUDED_LIQUIDATE = 1 << 1
    EXCLUDED_AS_NEEDED = 1 << 2
    EXCLUDED_HOLD_CASH = 1 << 3
    REALLOCATED = 1 << 4
    SUBSTITUTED = 1 << 5
    SUBSTITUTE = 1 << 6
    EQUIVALENT = 1 << 7
    EQUIVALENT_BUY_FIRST = 1 << 8
    EQUIVALENT_NO_SELL = 1 << 9
    EQUIVALENT_NO_BUY = 1 << 10
    GAIN_LOCK = 1 << 11
    ELECTIVE_LOCK = 1 << 12
    MISSING_BASIS = 1 << 13
    WASH_SALE_SELL = 1 << 14
    WASH_SALE_BUY = 1 << 15
    SHORT_TERM_LIMIT = 1 << 16
    SPECIFIC_LOTS = 1 << 17
    EXCLUDED = 1 << 18
    EXCLUDED_REALLOCATE = 1 << 19
    PROTECTED = 1 << 20


SELL_RULES = (
    RuleReason.EQUIVALENT_NO_SELL
    | RuleReason.GAIN_LOCK
    | RuleReason.ELECTIVE_LOCK
    | RuleReason.MISSING_BASIS
    | RuleReason.WASH_SALE_SELL
    | RuleReason.SPECIFIC_LOTS
)
BUY_RULES = (
    RuleReason.EQUIVALENT_NO_BUY
    | RuleReason.WASH_SALE_BUY
    | RuleReason.SHORT_TERM_LIMIT
    | RuleReason.EXCLUDED
)

_RULE_TEXT: dict[RuleReason, str] = {
    RuleReason.EXCLUDED: "excluded by a trade restriction: not bought",
    RuleReason.EXCLUDED_HOLD: "excluded, hold existing shares: neither bought nor sold",
    RuleReason.EXCLUDED_LIQUIDATE: "excluded, liquidate immediately: sold in full",
    RuleReason.EXCLUDED_AS_NEEDED: (
        "excluded, liquidate as needed: never bought, sold only as the target requires"
    ),
    RuleReason.EXCLUDED_HOLD_CASH: "excluded, hold cash: its target weight goes to cash",
    RuleReason.EXCLUDED_REALLOCATE: (
        "excluded, reallocate: its target weight goes pro rata to the other model securities"
    ),
    RuleReason.REALLOCATED: "target raised pro rata by an excluded security's weight",
    RuleReason.SUBSTITUTED: "replaced by its substitute (substitution restriction)",
    RuleReason.SUBSTITUTE: "substitute: carries the target of the security it replaces",
    RuleReason.EQUIVALENT: "traded as one equivalent-securities group",
    RuleReason.EQUIVALENT_BUY_FIRST: "equivalent securities, buy first: bought first, sold last",
    RuleReason.EQUIVALENT_NO_SELL: "equivalent securities, do not sell",
    RuleReason.EQUIVALENT_NO_BUY: "equivalent securities, do not buy",
    RuleReason.GAIN_LOCK: "gain lock: lots with unrealised gains are not sold",
    RuleReason.ELECTIVE_LOCK: "elective lock: never sold",
    RuleReason.MISSING_BASIS: "lots with missing cost basis are not sold until unlocked",
    RuleReason.WASH_SALE_SELL: (
        "wash sale: bought within 30 days in the household, lots at a loss are not sold"
    ),
    RuleReason.WASH_SALE_BUY: "wash sale: sold at a loss within 30 days in the household",
    RuleReason.SHORT_TERM_LIMIT: "short-term trading limit: sold within its window, not bought",
    RuleReason.SPECIFIC_LOTS: "specific lots: only the named lots are sold",
    RuleReason.PROTECTED: "protected sleeve: its shares are never traded",
}


def describe_rules(flags: int, *, buying: bool, selling: bool) -> str:
    """The rule flags of one line as text; sell rules hidden on buys, buy rules on sells."""
    parts = []
    for flag, text in _RULE_TEXT.items():
        if not flags & flag:
            continue
        if (buying and flag & SELL_RULES) or (selling and flag & BUY_RULES):
            continue
        parts.append(text)
    return "; ".join(parts)


@functools.lru_cache(maxsize=4096)
def describe_line(flags: int, rule_flags: int, *, buying: bool, selling: bool) -> str:
    """A line's whole reason: the steps (:class:`Reason` ``flags``), then the rules.

    A security that an exclusion or substitution liquidates immediately is sold by the
    logics' "sell non-model" step; its sale then reads as the restriction's liquidation,
    not as the sale of a holding outside the model.

    Remembered by its arguments: a book's lines have few distinct reasons, and the flags'
    enum arithmetic is slow enough to dominate a large request's proposal rows otherwise.
    """
    if selling and rule_flags & RuleReason.EXCLUDED_LIQUIDATE:
        flags &= ~Reason.NON_MODEL_SELL
    parts = (describe_reason(flags), describe_rules(rule_flags, buying=buying, selling=selling))
    return "; ".join(p for p in parts if p)
