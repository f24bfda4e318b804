"""Why each trade line is what it is: bit flags per line, statuses and messages per account.

Kernels set flags in a ``uint32`` array so that reasons cost nothing on the hot path; the
boundary turns them into text with :func:`describe_reason`.
"""

from __future__ import annotations

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
}
