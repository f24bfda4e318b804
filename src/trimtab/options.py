"""A trade logic's options, checked once for every entry point.

``trimtab propose`` (a scenario's ``options``), ``propose-book`` and the service all turn
what the user gave into :class:`~trimtab.core.engine.TradeOptions` here, so a logic takes the
same options with the same rules everywhere. Errors name the option as the scenario format
and the API spell it (``cash_to_generate``), with the caller's ``prefix`` (``options.``).
"""

from __future__ import annotations

import math

from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import InputError

MIN_TRADE_VALUE = 100.0
"""Dollars: the service's minimum trade size (product brief). ``trimtab propose`` and
``propose-book`` take none unless asked (the source documents' worked examples have none)."""

ROUNDINGS = ("whole_shares", "fractional")

USES: dict[str, frozenset[Method]] = {
    "cash_to_generate": frozenset({Method.GENERATE_CASH, Method.WITHDRAWAL}),
    "mccar_pct": frozenset({Method.GENERATE_CASH, Method.WITHDRAWAL}),
    "cash_to_invest": frozenset(
        {Method.INVEST_CASH_PROPORTIONAL, Method.INVEST_CASH_MIN_TRADES, Method.DEPOSIT}
    ),
}
"""The amounts each is used by; any other logic refuses them."""


def parse_method(name: str, *, field: str = "method") -> Method:
    """The trade logic called ``name``; raises :class:`InputError` naming ``field``."""
    try:
        return Method(name)
    except ValueError:
        allowed = ", ".join(m.value for m in Method)
        raise InputError(field, f"must be one of {allowed}, got {name!r}") from None


def trade_options(
    method: Method,
    *,
    rounding: str = "whole_shares",
    share_decimals: int = 3,
    cash_to_generate: float | None = None,
    mccar_pct: float | None = None,
    cash_to_invest: float | None = None,
    min_trade_value: float = 0.0,
    prefix: str = "",
) -> TradeOptions:
    """The options of ``method``, checked.

    Args:
        rounding: ``whole_shares`` or ``fractional``.
        share_decimals: decimals of a share unit with fractional shares, 0 to 9.
        cash_to_generate: dollars to raise per account (generate cash, withdrawal).
        mccar_pct: minimum cash, percent of account value (generate cash, withdrawal).
        cash_to_invest: dollars to invest at most per account (invest cash, deposit).
        min_trade_value: dollars; smaller trades are raised to it or dropped.
        prefix: put before every field an error names (``options.``).

    An amount the logic does not use is refused; generate cash and withdrawal need
    ``cash_to_generate`` or a non-zero ``mccar_pct``.
    """
    if rounding not in ROUNDINGS:
        raise InputError(
            f"{prefix}rounding", f"must be whole_shares or fractional, got {rounding!r}"
        )
    if not 0 <= share_decimals <= 9:
        raise InputError(f"{prefix}share_decimals", f"must be 0 to 9, got {share_decimals}")
    given = {
        "cash_to_generate": cash_to_generate,
        "mccar_pct": mccar_pct,
        "cash_to_invest": cash_to_invest,
        "min_trade_value": min_trade_value,
    }
    for name, value in given.items():
        if value is not None and (not math.isfinite(value) or value < 0):
            raise InputError(f"{prefix}{name}", f"must be a number at least 0, got {value:g}")
    if mccar_pct is not None and mccar_pct > 100:
        raise InputError(f"{prefix}mccar_pct", f"must be at most 100, got {mccar_pct:g}")
    for name, methods in USES.items():
        if given[name] is not None and method not in methods:
            raise InputError(f"{prefix}{name}", f"not used by method {method.value!r}")
    if method in USES["cash_to_generate"] and cash_to_generate is None and not mccar_pct:
        raise InputError(f"{prefix}cash_to_generate", f"required by method {method.value!r}")
    return TradeOptions(
        fractional=rounding == "fractional",
        share_decimals=share_decimals,
        cash_to_generate=cash_to_generate or 0.0,
        mccar_pct=mccar_pct or 0.0,
        cash_to_invest=cash_to_invest,
        min_trade_value=min_trade_value,
    )
