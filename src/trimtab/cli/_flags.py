"""Errors as the command line says them. Light on imports, so that the book commands start
quickly."""

from __future__ import annotations

import re

from trimtab.errors import InputError

_FIELD = re.compile(r"[a-z][a-z0-9_]*")


def flag_error(err: InputError) -> str:
    """``err`` as the command line says it: the service and the option checks name fields as
    the API and the files do (``cash_to_invest``); a command takes each such field as the flag
    of the same name (``--cash-to-invest``). Paths into a file (``options.cash_to_invest``,
    ``prices.csv row 2 column price``) stay as they are."""
    if _FIELD.fullmatch(err.where):
        return f"--{err.where.replace('_', '-')}: {err.problem}"
    return str(err)
