"""Pages of a list and the tokens that continue them (keyset pagination).

Every list of :mod:`trimtab.service.listing` returns a :class:`Page`: at most ``limit`` items
and, when more follow, a ``next_page_token``. The token is opaque to callers: URL-safe base64
of the last item's sort key, a digest of what the list was made for (the firm, the list, its
sort and filters) and a MAC over both. The next page is the rows whose sort key comes after
that key, so rows added or removed meanwhile never shift a page (as an offset would) and a
deep page costs what the first one does.

A token is not a credential: it only says where to resume inside a query that is already
scoped to the firm and checked against the user's role. The MAC's key is therefore fixed; it
is there so that a token edited by hand, cut short, or made for another list, sort or filter
is refused as :class:`~trimtab.errors.InputError` (field ``page_token``) instead of resuming
at a surprising place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, Row, Select, and_, false, or_

from trimtab.errors import InputError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Key",
    "Page",
    "SortKey",
    "check_limit",
    "decode_token",
    "encode_token",
    "keyset_after",
    "make_page",
    "page_rows",
]

T = TypeVar("T")

DEFAULT_LIMIT = 50
"""Items per page unless a caller asks for another number."""
MAX_LIMIT = 1000
"""The most items one page holds."""

Key = tuple[Any, ...]
"""A row's sort key: text, whole numbers, decimals, floats or dates, in sort order."""

_MAC_KEY = b"trimtab page token v1"
_MAC_BYTES = 16
_MAX_TOKEN = 2000
_KINDS: dict[str, type] = {"s": str, "i": int, "f": float, "n": Decimal, "d": date}


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its items in the list's order and, when more follow, the token
    that fetches the next page (``None`` on the last page)."""

    items: tuple[T, ...]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class SortKey:
    """One column of a list's sort order: its SQL expression and whether it runs largest
    first."""

    column: ColumnElement[Any]
    descending: bool = False


def check_limit(limit: int) -> int:
    """``limit`` when it is a whole number from 1 to :data:`MAX_LIMIT`; InputError else."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InputError("limit", f"must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit


def scope_digest(firm_id: str, scope: Sequence[object]) -> str:
    """A short digest naming the firm, the list and its sort and filters."""
    text = json.dumps([firm_id, *scope], default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode_value(value: object) -> list[str]:
    # bool is an int: refuse it rather than store it as one
    if isinstance(value, bool):
        raise TypeError("a sort key holds no booleans")
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, int):
        return ["i", str(value)]
    if isinstance(value, float):
        return ["f", repr(value)]
    if isinstance(value, Decimal):
        return ["n", str(value)]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    raise TypeError(f"a sort key holds no {type(value).__name__}")


def _decode_value(pair: object) -> object:
    """A tagged value of a token, refused (ValueError) when no database could compare it:
    text with a NUL, whole numbers beyond 64 bits, numbers not finite or absurdly large."""
    if not (isinstance(pair, list) and len(pair) == 2):
        raise ValueError("not a tagged value")
    tag, text = pair
    if tag not in _KINDS or not isinstance(text, str):
        raise ValueError("unknown tag")
    if tag == "s":
        if "\x00" in text:
            raise ValueError("NUL in text")
        return text
    if tag == "i":
        whole = int(text)
        if not -(2**63) <= whole < 2**63:
            raise ValueError("beyond 64 bits")
        return whole
    if tag == "f":
        real = float(text)
        if not math.isfinite(real):
            raise ValueError("not a finite number")
        return real
    if tag == "n":
        number = Decimal(text)
        if not number.is_finite() or abs(number.adjusted()) > 40:
            raise ValueError("not a finite number of sensible size")
        return number
    return date.fromisoformat(text)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def encode_token(firm_id: str, scope: Sequence[object], key: Key) -> str:
    """The token resuming after the row whose sort key is ``key``, in the list ``scope``
    (its name, sort and filters) of ``firm_id``."""
    body = json.dumps(
        [scope_digest(firm_id, scope), [_encode_value(v) for v in key]],
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(_MAC_KEY, body, hashlib.sha256).digest()[:_MAC_BYTES]
    return _b64(mac + body)


def decode_token(
    token: str | None, firm_id: str, scope: Sequence[object], kinds: Sequence[type]
) -> Key | None:
    """The sort key a token holds (``None`` for no token, the first page).

    Raises :class:`InputError` (``page_token``) for a token that is malformed, altered,
    made for another firm, list, sort or filter, or whose key does not have ``kinds``.
    """
    if token is None:
        return None
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
        raise InputError("page_token", "not a page token of this list")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise InputError("page_token", "malformed: not URL-safe base64") from None
    mac, body = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    expected = hmac.new(_MAC_KEY, body, hashlib.sha256).digest()[:_MAC_BYTES]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, expected):
        raise InputError("page_token", "altered or cut short: ask for the first page again")
    try:
        digest, values = json.loads(body)
        key = tuple(_decode_value(v) for v in values)
    except (ValueError, TypeError, InvalidOperation):
        raise InputError("page_token", "malformed contents") from None
    if digest != scope_digest(firm_id, scope):
        raise InputError(
            "page_token", "made for another list, sort or filter: ask for the first page again"
        )
    if len(key) != len(kinds) or not all(type(v) is k for v, k in zip(key, kinds, strict=True)):
        raise InputError("page_token", "its sort key does not fit this list")
    return key


def keyset_after(order: Sequence[SortKey], key: Key) -> ColumnElement[bool]:
    """The rows after ``key`` in ``order``: the first column past it, or equal on it and
    past it on the next, and so on (each column in its own direction)."""
    terms: list[ColumnElement[bool]] = []
    for i, part in enumerate(order):
        equal = [order[j].column == key[j] for j in range(i)]
        past = part.column < key[i] if part.descending else part.column > key[i]
        terms.append(and_(*equal, past))
    return or_(*terms) if terms else false()


def page_rows(
    conn: Connection,
    query: Select[Any],
    order: Sequence[SortKey],
    after: Key | None,
    limit: int,
) -> tuple[list[Row[Any]], Key | None]:
    """The rows of ``query`` after ``after`` in ``order``, at most ``limit`` of them, and the
    sort key of the last one when more rows follow (``None`` on the last page).

    The sort key's columns are selected too (as ``_k0``, ``_k1``, ...), so a token holds the
    values exactly as the database compared them.
    """
    keyed = query.add_columns(*(s.column.label(f"_k{i}") for i, s in enumerate(order)))
    if after is not None:
        keyed = keyed.where(keyset_after(order, after))
    keyed = keyed.order_by(*(s.column.desc() if s.descending else s.column for s in order))
    rows = list(conn.execute(keyed.limit(limit + 1)).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]._mapping
    return rows[:limit], tuple(last[f"_k{i}"] for i in range(len(order)))


def make_page(
    firm_id: str,
    scope: Sequence[object],
    items: Sequence[T],
    next_key: Key | None,
) -> Page[T]:
    """A :class:`Page` of ``items``, with a token for the rows after ``next_key``."""
    token = None if next_key is None else encode_token(firm_id, scope, next_key)
    return Page(items=tuple(items), next_page_token=token)
