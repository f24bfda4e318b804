"""Rule tables of a book folder (docs/rules.md), laid on the book's slots.

Optional tables, CSV or Parquet like the rest of the book:

- ``restrictions``: ``account_id``, ``type`` (exclusion, substitution, equivalents),
  ``symbol``, ``start_date``; optional ``restriction_id`` (the rows of one equivalents group
  share it), ``substitute``, ``replacement``, ``behaviour`` (the exclusion behaviour, or the
  member behaviour), ``end_date``, ``end_action``, ``weight_at_end_pct``.
- ``locks``: ``account_id``, ``type`` (gain, elective, cost_basis_unlock, trade_hold);
  optional ``symbol``, ``until``.
- ``transactions``: ``account_id``, ``symbol``, ``action`` (buy, sell), ``date``,
  ``quantity``; optional ``realized_gain`` and ``price`` (kept by the service).
- ``short_term_windows``: ``symbol``, ``days``.
- ``specific_lots``: ``account_id``, ``symbol``, ``lot_id``: for accounts whose
  ``lot_method`` is ``specific_lots``, the lots to relieve, in order (read by
  :func:`book_slot_rules` with the ``lots`` table).

:func:`book_slot_rules` lays every table of a read book on its slots: the rule tables
column by column (:func:`lay_out_rules`), the lots with the book's codes. A table that fails
a whole-column check is read again by :func:`read_book_rules`, one row and one account at a
time through the scenario models, into one :class:`AccountRules` per account: slow, but its
errors name ``table.ext row N column C``. Both also give the ``(account, symbol)`` slots that
restrictions need (substitutes and group members the account neither holds nor has in its
model: lay them out as zero-quantity positions).

The pieces, each a small private module re-exported here:

- ``_tables``: the tables' schemas, :func:`rule_table` and the row-by-row reader
  :func:`read_book_rules`;
- ``_checks``: the whole-column checks that decide whether the tables can be laid out
  column by column;
- ``_layout``: :func:`lay_out_rules`, the column-by-column layout;
- ``_book``: :func:`book_slot_rules` with the book's accounts and lots, and
  :func:`qualified_accounts`.
"""

from trimtab.io.book_rules._book import book_slot_rules, qualified_accounts
from trimtab.io.book_rules._checks import Mask
from trimtab.io.book_rules._layout import lay_out_rules
from trimtab.io.book_rules._tables import (
    RULE_SCHEMAS,
    BookRules,
    RuleSource,
    RuleTables,
    read_book_rules,
    rule_table,
)

__all__ = [
    "RULE_SCHEMAS",
    "BookRules",
    "Mask",
    "RuleSource",
    "RuleTables",
    "book_slot_rules",
    "lay_out_rules",
    "qualified_accounts",
    "read_book_rules",
    "rule_table",
]
