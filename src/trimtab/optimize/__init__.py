"""Best Fit and Minimum Transaction, solved exactly: by proofs where they apply
(:mod:`~trimtab.optimize.bracket`, :mod:`~trimtab.optimize.cash_bound`,
:mod:`~trimtab.optimize.shortcut`, :mod:`~trimtab.optimize.leave_band`), otherwise as integer
programs with HiGHS (:mod:`~trimtab.optimize.programs`).

Kept outside :mod:`trimtab.core`, which stays numpy and the standard library only. Each
logic works one account (one row of an :class:`~trimtab.core.batch.AccountBatch`) at a time
and returns signed share quantities per slot; :func:`propose` runs them (and every other
logic) through the core's rounding path as dollar plans.
"""

from trimtab.optimize.compare import COMPARED, LogicSummary, compare_logics
from trimtab.optimize.plan import plan_from_quantities, plan_trades, propose
from trimtab.optimize.solve import (
    DEFAULT_TIME_LIMIT,
    AccountResult,
    OptimizedBatch,
    SolveStatus,
    best_fit,
    best_fit_batch,
    minimum_transaction,
    minimum_transaction_batch,
)

__all__ = [
    "COMPARED",
    "DEFAULT_TIME_LIMIT",
    "AccountResult",
    "LogicSummary",
    "OptimizedBatch",
    "SolveStatus",
    "best_fit",
    "best_fit_batch",
    "compare_logics",
    "minimum_transaction",
    "minimum_transaction_batch",
    "plan_from_quantities",
    "plan_trades",
    "propose",
]
