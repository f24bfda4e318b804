"""Page tokens and keyset pages (trimtab.service.paging), on an in-memory SQLite table."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from trimtab.errors import InputError
from trimtab.service.paging import (
    MAX_LIMIT,
    SortKey,
    check_limit,
    decode_token,
    encode_token,
    page_rows,
)

SCOPE = ("things", "by_size", None)
KINDS = (str, int, float, Decimal, date)
KEY = ("ACC 1/é", -7, 2.5, Decimal("30.555556"), date(2026, 11, 23))


def test_a_token_gives_back_its_key() -> None:
    token = encode_token("acme", SCOPE, KEY)
    assert decode_token(token, "acme", SCOPE, KINDS) == KEY
    assert decode_token(None, "acme", SCOPE, KINDS) is None
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(
    st.tuples(
        st.text(st.characters(exclude_characters="\x00"), max_size=40),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.decimals(-(10**20), 10**20, allow_nan=False, allow_infinity=False, places=6),
        st.dates(),
    )
)
def test_every_key_round_trips_exactly(key: tuple[Any, ...]) -> None:
    back = decode_token(encode_token("acme", SCOPE, key), "acme", SCOPE, KINDS)
    assert back == key
    assert [type(v) for v in back] == [type(v) for v in key]  # type: ignore[union-attr]


def test_a_token_is_bound_to_its_firm_list_sort_and_filters() -> None:
    token = encode_token("acme", SCOPE, KEY)
    for firm, scope in (
        ("beta", SCOPE),
        ("acme", ("things", "by_name", None)),
        ("acme", ("things", "by_size", "a filter")),
        ("acme", ("others", "by_size", None)),
    ):
        with pytest.raises(InputError, match="page_token: made for another list, sort or filter"):
            decode_token(token, firm, scope, KINDS)


def _forged(body: object) -> str:
    """A token with a valid MAC around ``body`` (the key is no secret; see paging's docs)."""
    raw = json.dumps(body).encode()
    mac = hmac.new(b"trimtab page token v1", raw, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")


def test_altered_cut_or_misshapen_tokens_are_refused() -> None:
    token = encode_token("acme", SCOPE, KEY)
    flipped = token[:-3] + ("x" if token[-3] != "x" else "y") + token[-2:]
    digest = json.loads(base64.urlsafe_b64decode(token + "==")[16:])[0]
    for bad, problem in (
        (flipped, "altered"),
        (token[:20], "altered"),
        ("%%%", "malformed"),
        ("a" * 3000, "not a page token"),
        (_forged("not a list"), "malformed contents"),
        (_forged([digest, [["x", "1"]]]), "malformed contents"),
        (_forged([digest, [["n", "NaN"]]]), "malformed contents"),
        (_forged([digest, [["d", "2026-13-01"]]]), "malformed contents"),
        (_forged([digest, [["s", "a\x00"]]]), "malformed contents"),
        (_forged([digest, [["i", str(2**63)]]]), "malformed contents"),
        (_forged([digest, [["f", "inf"]]]), "malformed contents"),
        (_forged([digest, [["n", "1E+999"]]]), "malformed contents"),
        (_forged([digest, [["s", "a"], ["i", "1"]]]), "does not fit"),
        (_forged([digest, [["s", "1"], ["s", "1"], ["s", "1"], ["s", "1"], ["s", "1"]]]), "fit"),
    ):
        with pytest.raises(InputError, match=f"page_token: .*{problem}") as err:
            decode_token(bad, "acme", SCOPE, KINDS)
        assert err.value.where == "page_token"


def test_limits() -> None:
    assert check_limit(1) == 1 and check_limit(MAX_LIMIT) == MAX_LIMIT
    for bad in (0, -1, MAX_LIMIT + 1, True, 2.0):
        with pytest.raises(InputError, match="limit: must be a whole number from 1 to 1000"):
            check_limit(bad)  # type: ignore[arg-type]


def test_a_key_of_another_type_is_not_stored() -> None:
    with pytest.raises(TypeError):
        encode_token("acme", SCOPE, (True,))
    with pytest.raises(TypeError):
        encode_token("acme", SCOPE, (object(),))


# ------------------------------------------------------------------ pages over a table

rows_table = sa.Table(
    "rows",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("name", sa.String, nullable=False),
)


@pytest.fixture(scope="module")
def conn() -> Iterator[sa.Connection]:
    engine = sa.create_engine("sqlite://")
    rows_table.metadata.create_all(engine)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


@given(
    rows=st.lists(st.tuples(st.integers(0, 4), st.sampled_from("abcde")), max_size=40),
    limit=st.integers(1, 7),
    size_descending=st.booleans(),
)
def test_walking_the_pages_is_the_sorted_table(
    conn: sa.Connection, rows: list[tuple[int, str]], limit: int, size_descending: bool
) -> None:
    """Pages of ``limit`` rows, in (size, name, id) order with many ties, hold every row
    once and in order, whatever the sizes and the direction of the first key."""
    conn.execute(sa.delete(rows_table))
    if rows:
        conn.execute(
            sa.insert(rows_table),
            [{"id": i, "size": s, "name": n} for i, (s, n) in enumerate(rows)],
        )
    c = rows_table.c
    order = [SortKey(c.size, descending=size_descending), SortKey(c.name), SortKey(c.id)]
    walked: list[int] = []
    after = None
    while True:
        page, after = page_rows(conn, sa.select(c.id), order, after, limit)
        assert len(page) <= limit
        walked.extend(r.id for r in page)
        if after is None:
            break
        assert len(page) == limit
    sign = -1 if size_descending else 1
    expected = sorted(range(len(rows)), key=lambda i: (sign * rows[i][0], rows[i][1], i))
    assert walked == expected
