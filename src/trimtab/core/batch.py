"""The batch of accounts every kernel works on.

Layout: ``N`` accounts by ``K`` slots. For each account the slots hold its model's lines first,
in model order, then the securities it holds that are not in its model, in symbol order, then
padding. Padding slots have ``valid`` false, zero quantity and targets, and price 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

Dollars = npt.NDArray[np.float64]
Shares = npt.NDArray[np.float64]
Fractions = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class AccountBatch:
    """``N`` accounts, ``K`` slots each. Weights are fractions of account value (cash included).

    Attributes:
        price: dollars per share, (N, K); 1.0 on padding.
        quantity: shares held, (N, K); >= 0.
        target: target weight, fraction of account value, (N, K); 0 for non-model holdings.
        lower, upper: the tolerance band, fractions, (N, K); [0, 0] for non-model holdings.
        in_model: the slot is a line of the account's model, (N, K).
        valid: the slot is a model line or a holding (not padding), (N, K).
        cash: cash (sweep) balance in dollars, (N,).
        cash_target: the model's cash target, fraction of account value, (N,).
        sell_limit: shares that rules allow to be sold, (N, K); equals ``quantity`` without rules.
        buy_allowed: rules allow buying the slot, (N, K); model lines only without rules.
    """

    price: Dollars
    quantity: Shares
    target: Fractions
    lower: Fractions
    upper: Fractions
    in_model: Mask
    valid: Mask
    cash: Dollars
    cash_target: Fractions
    sell_limit: Shares
    buy_allowed: Mask

    @property
    def size(self) -> int:
        """Number of accounts."""
        return int(self.cash.shape[0])

    @property
    def width(self) -> int:
        """Number of slots per account."""
        return int(self.price.shape[1])

    def rows(self, start: int, stop: int) -> AccountBatch:
        """The accounts ``start:stop`` as a batch (views, no copy)."""
        return AccountBatch(*(getattr(self, f)[start:stop] for f in BATCH_FIELDS))

    def take(self, accounts: npt.NDArray[np.intp]) -> AccountBatch:
        """The accounts at the indices ``accounts`` as a batch (copies)."""
        return AccountBatch(*(getattr(self, f)[accounts] for f in BATCH_FIELDS))

    def with_rules(self, *, sell_limit: Shares, buy_allowed: Mask) -> AccountBatch:
        """The same accounts with rule-derived sell limits (shares) and buy permissions."""
        return replace(self, sell_limit=sell_limit, buy_allowed=buy_allowed)


BATCH_FIELDS = (  # the fields of AccountBatch, in order
    "price",
    "quantity",
    "target",
    "lower",
    "upper",
    "in_model",
    "valid",
    "cash",
    "cash_target",
    "sell_limit",
    "buy_allowed",
)


def make_batch(
    *,
    price: Dollars,
    quantity: Shares,
    target: Fractions,
    lower: Fractions,
    upper: Fractions,
    in_model: Mask,
    valid: Mask,
    cash: Dollars,
    cash_target: Fractions,
) -> AccountBatch:
    """A batch with no rules: everything held may be sold, every model line may be bought."""
    return AccountBatch(
        price=price,
        quantity=quantity,
        target=target,
        lower=lower,
        upper=upper,
        in_model=in_model,
        valid=valid,
        cash=cash,
        cash_target=cash_target,
        sell_limit=quantity,
        buy_allowed=in_model & valid,
    )


def stack_batches(batches: list[AccountBatch]) -> AccountBatch:
    """One batch of all accounts of ``batches``, padded to the widest."""
    width = max(b.width for b in batches)
    fields: dict[str, npt.NDArray[np.generic]] = {}
    for name in BATCH_FIELDS:
        parts = []
        for b in batches:
            a = getattr(b, name)
            if a.ndim == 2 and a.shape[1] < width:
                pad_value: float | bool = (
                    1.0 if name == "price" else False if a.dtype == bool else 0.0
                )
                pad = np.full((a.shape[0], width - a.shape[1]), pad_value, dtype=a.dtype)
                a = np.concatenate([a, pad], axis=1)
            parts.append(a)
        fields[name] = np.concatenate(parts, axis=0)
    return AccountBatch(**fields)  # type: ignore[arg-type]
