""":func:`book_slot_rules`: every rule of a read book laid on its slots, from its rule
tables (:func:`lay_out_rules`, or :func:`read_book_rules` when a table fails a check), its
``accounts`` table (households, registrations, lot methods) and its tax lots, with the
specific-lot order of ``specific_lots``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trimtab.core.lots import METHOD_CODE, LotMethod, lots_on_slots
from trimtab.core.rules import SlotRules, slot_rules
from trimtab.errors import BookError
from trimtab.io.arrow import as_numpy
from trimtab.io.book import LoadedBook
from trimtab.io.book_rules._checks import Mask
from trimtab.io.book_rules._layout import _EPOCH, lay_out_rules
from trimtab.io.book_rules._tables import RULE_SCHEMAS, read_book_rules
from trimtab.io.tables import first_row, read_table, require_values, table_path


def book_slot_rules(
    folder: Path | str, loaded: LoadedBook, *, as_of: date
) -> tuple[SlotRules, list[tuple[int, int]]]:
    """Every rule of a read book laid on its slots, ready for ``apply_slot_rules``.

    Lays the rule tables of ``folder`` out column by column (:func:`lay_out_rules`; a table
    that fails a check is read row by row, :func:`read_book_rules`, which names the bad
    row); households, registrations and lot methods come from the ``accounts`` table, tax
    lots from the ``lots`` table (sorted by account, not yet in relief order) and the
    specific-lot order from ``specific_lots`` (laid on slots without per-lot Python
    objects; the lots' ``source`` is their row in ``lots``). Returns the slot rules of all
    accounts (cut them per chunk with ``SlotRules.prepared_rows``, which puts the chunk's
    lots in relief order) and the ``(account, symbol)`` slots that restrictions need but
    the book does not lay out (substitutes and group members neither held nor in the
    model): until the book gives them zero-quantity positions, such a substitution's
    target stays in cash and such a member is not bought.
    """
    folder = Path(folder)
    arrays = loaded.arrays
    ids = loaded.account_ids
    account_code = {a: i for i, a in enumerate(ids.to_pylist())}
    # first code of a symbol: an APM twin (io/book_sleeves.py) names its security again
    symbol_code = {s: i for i, s in reversed(list(enumerate(loaded.symbols)))}
    accounts = loaded.tables["accounts"]
    qualified = qualified_accounts(accounts)
    house = None
    if "household_id" in accounts.column_names:  # an account without one is its own
        named = pc.coalesce(accounts.column("household_id"), ids).combine_chunks()
        house = as_numpy(named.dictionary_encode().indices).astype(np.int64)
    method = _method_codes(accounts)
    laid = lay_out_rules(
        folder,
        arrays,
        account_code=account_code,
        symbol_code=symbol_code,
        as_of=as_of,
        house=house,
        qualified=qualified,
    )
    if laid is None:  # a table fails a check: read row by row, which names the bad row
        found = read_book_rules(
            folder,
            account_code=account_code,
            symbol_code=symbol_code,
            as_of=as_of,
            household=None if house is None else _households(accounts, ids),
            qualified=qualified.tolist(),
        )
        target = np.zeros(arrays.slot_symbol.shape)
        target[:, : arrays.model_width] = arrays.model_target[arrays.account_model]
        laid = slot_rules(arrays.slot_symbol, found.rules, as_of, target), found.extra_slots
    rules, extra = laid
    lots = None
    if "lots" in loaded.tables:
        table = loaded.tables["lots"]
        codes = loaded.lot_codes or tuple(
            _codes_in(table.column(column), names_)
            for column, names_ in (("account_id", loaded.account_ids), ("symbol", loaded.symbols))
        )
        basis = (
            table.column("cost_basis").to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        )
        acquired = table.column("acquired").cast(pa.int32()).to_numpy(zero_copy_only=False)
        lots = lots_on_slots(
            arrays.slot_symbol.shape[1],
            account=codes[0],
            slot=arrays.slots_of(*codes),
            quantity=table.column("quantity").to_numpy(zero_copy_only=False),
            basis=basis,
            acquired=acquired + np.int32(_EPOCH_ORDINAL),
            rank=_specific_rank(folder, loaded, method),
        )
    elif table_path(folder, "specific_lots") is not None:
        raise BookError("specific_lots.csv", "needs the lots table (with lot_id) it names lots of")
    if lots is not None:
        ruled = rules.ruled.copy()
        ruled[lots.row] = True
        rules = replace(rules, lots=lots, ruled=ruled)
    return replace(rules, method=method), extra


def qualified_accounts(accounts: pa.Table) -> Mask:
    """Accounts whose ``registration`` is qualified (none without the column)."""
    if "registration" not in accounts.column_names:
        return np.zeros(accounts.num_rows, dtype=bool)
    registration = accounts.column("registration")
    out: Mask = as_numpy(pc.fill_null(pc.equal(registration, "qualified"), False))
    return out


def _households(accounts: pa.Table, ids: pa.Array) -> dict[str, str]:
    """Household id by account id, for accounts that name one."""
    return {
        a: h
        for a, h in zip(ids.to_pylist(), accounts.column("household_id").to_pylist(), strict=True)
        if h is not None
    }


def _codes_in(values: pa.ChunkedArray, names: Sequence[str] | pa.Array) -> npt.NDArray[np.int32]:
    """Index of each value in ``names`` (-1 where absent)."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(pa.string())
    found = pc.index_in(values, value_set=pa.array(list(names), pa.string()))
    out: npt.NDArray[np.int32] = (
        pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int32)
    )
    return out


def _method_codes(accounts: pa.Table) -> npt.NDArray[np.int8]:
    """Lot relief method code of each account (:data:`METHOD_CODE`); missing or empty: fifo.

    The values were checked when the book was read.
    """
    if "lot_method" not in accounts.column_names:
        return np.zeros(accounts.num_rows, dtype=np.int8)
    codes = _codes_in(accounts.column("lot_method"), [m.value for m in METHOD_CODE])
    return np.maximum(codes, 0).astype(np.int8)


def _specific_rank(
    folder: Path, loaded: LoadedBook, method: npt.NDArray[np.int8]
) -> npt.NDArray[np.float64] | None:
    """Each lot's place in its position's specific-lot order, ``inf`` where not named
    (``None`` without a ``specific_lots`` table). Errors name the ``specific_lots`` row."""
    path = table_path(folder, "specific_lots")
    if path is None:
        return None
    label = path.name
    spec = read_table(path, RULE_SCHEMAS["specific_lots"])
    require_values(label, spec, ["account_id", "symbol", "lot_id"])
    empty = pc.equal(spec.column("lot_id"), "").to_numpy(zero_copy_only=False)
    if empty.any():  # CSV reads an empty field as "": a lot without an id cannot be named
        raise BookError(f"{label} row {first_row(empty)} column lot_id", "value is missing")
    lots = loaded.tables["lots"]
    n_lots = lots.num_rows
    rank = np.full(n_lots, np.inf)
    if spec.num_rows == 0:
        return rank
    account = _codes_in(spec.column("account_id"), loaded.account_ids)
    symbol = _codes_in(spec.column("symbol"), loaded.symbols)
    for column, codes, what in (
        ("account_id", account, "unknown account"),
        ("symbol", symbol, "no price for symbol"),
    ):
        if (codes < 0).any():
            r = first_row(codes < 0)
            raise BookError(
                f"{label} row {r} column {column}", f"{what} {spec.column(column)[r - 1].as_py()!r}"
            )
    wrong = method[account] != METHOD_CODE[LotMethod.SPECIFIC]
    if wrong.any():
        r = first_row(wrong)
        used = [m.value for m in METHOD_CODE][int(method[account[r - 1]])]
        raise BookError(
            f"{label} row {r} column account_id",
            f"account {spec.column('account_id')[r - 1].as_py()!r} relieves lots by {used}: "
            "give it lot_method specific_lots in accounts",
        )
    lot_ids = (
        lots.column("lot_id") if "lot_id" in lots.column_names else pa.nulls(n_lots, pa.string())
    )
    keys = [
        pc.binary_join_element_wise(
            *(c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in cols), "\x1f"
        )
        for cols in (
            (lots.column("account_id"), lots.column("symbol"), lot_ids),
            (spec.column("account_id"), spec.column("symbol"), spec.column("lot_id")),
        )
    ]
    at = pc.index_in(keys[1], value_set=keys[0].combine_chunks())
    lot = pc.fill_null(at, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    if (lot < 0).any():
        r = first_row(lot < 0)
        row = spec.slice(r - 1, 1).to_pylist()[0]
        raise BookError(
            f"{label} row {r} column lot_id",
            f"no lot {row['lot_id']!r} of {row['symbol']!r} in account {row['account_id']!r} "
            "in lots",
        )
    _, first = np.unique(lot, return_index=True)
    if first.size < lot.size:
        seen = np.zeros(lot.size, dtype=bool)
        seen[first] = True
        r = first_row(~seen)
        raise BookError(
            f"{label} row {r} column lot_id",
            f"lot {spec.column('lot_id')[r - 1].as_py()!r} is named twice",
        )
    rank[lot] = np.arange(lot.size, dtype=np.float64)
    return rank


_EPOCH_ORDINAL = _EPOCH.toordinal()
