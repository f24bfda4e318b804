"""An account's rules on a date, turned into what the trade logics honour.

:func:`apply_rules` gives a batch adjusted targets (restrictions), ``sell_limit`` (shares
that locks, holds and tax rules leave sellable) and ``buy_allowed``, plus the equivalents
groups and a :class:`RuleReason` flag per slot. After the logic, :func:`settle` applies
trade holds and marks accounts whose wanted trades rules blocked, and :func:`realize` says
which lots each sale relieves and the gains realised.

Symbols are codes; shares, dollars and fractions of account value as stated per field.

The pieces, each a small private module re-exported here:

- ``_account``: one account's rules (:class:`AccountRules`, :class:`Transaction`,
  :class:`Side`) and :func:`slot_rules`, which lays them on a batch's slots;
- ``_slots``: the rules laid out on slots (:class:`SlotRules`) and the price-independent
  part of lot eligibility, computed once (:class:`LotCache`);
- ``_apply``: :func:`apply_slot_rules` and :func:`apply_rules`, the batch as the logics
  must see it (:class:`RuledBatch`);
- ``_settle``: after the logic, :func:`settle`, and the lots each sale relieves
  (:func:`relieved`, :func:`realize`, :func:`sales_of`).
"""

from trimtab.core.rules._account import WASH_SALE_DAYS, AccountRules, Side, Transaction, slot_rules
from trimtab.core.rules._apply import (
    FlagPieces,
    Index,
    RuledBatch,
    apply_rules,
    apply_slot_rules,
    keep_protected,
    protected_share,
)
from trimtab.core.rules._settle import realize, relieved, sales_of, settle
from trimtab.core.rules._slots import LOT_RULES, Flags, LotCache, SlotRules

__all__ = [
    "LOT_RULES",
    "WASH_SALE_DAYS",
    "AccountRules",
    "FlagPieces",
    "Flags",
    "Index",
    "LotCache",
    "RuledBatch",
    "Side",
    "SlotRules",
    "Transaction",
    "apply_rules",
    "apply_slot_rules",
    "keep_protected",
    "protected_share",
    "realize",
    "relieved",
    "sales_of",
    "settle",
    "slot_rules",
]
