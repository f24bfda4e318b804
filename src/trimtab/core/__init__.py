"""The pure engine: numpy and the standard library only, no I/O.

Every function works on an :class:`AccountBatch` — many accounts side by side as dense
(accounts x slots) arrays — so one account and a million go through the same code.
"""

from trimtab.core.batch import AccountBatch, stack_batches
from trimtab.core.drift import DriftResult, drift
from trimtab.core.engine import BatchProposal, Method, TradeOptions, propose
from trimtab.core.reasons import Message, Reason, Status, describe_reason

__all__ = [
    "AccountBatch",
    "BatchProposal",
    "DriftResult",
    "Message",
    "Method",
    "Reason",
    "Status",
    "TradeOptions",
    "describe_reason",
    "drift",
    "propose",
    "stack_batches",
]
