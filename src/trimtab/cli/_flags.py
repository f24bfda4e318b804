"""Errors as the command line says them: a field that is one of a command's options named
as its flag. Light on imports, so that the book commands start quickly."""

from __future__ import annotations

from trimtab.errors import InputError


def flag_error(err: InputError, flags: set[str]) -> str:
    """``err`` as the command line says it: a field that is one of the command's ``flags``
    (``cash_to_invest``) named as its flag (``--cash-to-invest``)."""
    if err.where in flags:
        return f"--{err.where.replace('_', '-')}: {err.problem}"
    return str(err)


OPTION_FLAGS = {
    "logic",
    "rounding",
    "share_decimals",
    "cash_to_generate",
    "mccar_pct",
    "cash_to_invest",
    "min_trade_value",
}
"""Trade-logic options that the book and service commands take as flags."""
