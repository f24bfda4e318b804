"""Sleeves of a book's accounts (docs/rules.md, "Book tables"): the optional tables
``sleeves``, ``apm_targets`` and ``sleeve_positions``, checked and laid out.

- ``sleeves``: ``account_id``, ``sleeve`` (``model`` or ``apm``), ``weight_pct``;
  ``model_id`` (a model sleeve's model), ``cash_pct`` (the APM sleeve's cash, default 0).
- ``apm_targets``: ``account_id``, ``symbol``, ``target_pct`` (percent of the APM sleeve).
- ``sleeve_positions``: ``account_id``, ``sleeve`` (``apm`` or ``protected``), ``symbol``,
  ``quantity`` (shares of the account's position that belong to that sleeve).

An account with ``sleeves`` rows takes its target from them (its ``model_id`` in
``accounts`` is empty); an account without keeps its model. Each row becomes the
scenario's sleeve object (``trimtab.io.sleeves``), so the checks, their messages and the
blended target are the scenario's own; errors name ``table.ext row N column C``.

The layout is the scenario's too: each distinct blend of an account's model and APM
sleeves is an extra model of the book's arrays; every APM security gets a second symbol
code (an APM *twin*, named as its security, after the real codes), its line and its
sleeve's shares on that code. Protected shares and the rules of APM lines are laid on the
slots by :mod:`trimtab.io.book_sleeve_rules`.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ValidationError

from trimtab.core.book import assemble_book
from trimtab.errors import BookError, ScenarioError
from trimtab.io.book import LoadedBook, read_book, twin_start  # noqa: F401  (re-exported)
from trimtab.io.errors import first_error
from trimtab.io.rules import ProtectedPositionIn
from trimtab.io.scenario import ScenarioIn
from trimtab.io.scenario._inputs import AccountIn, ModelIn, ModelSleeveIn, SecurityIn
from trimtab.io.sleeves import (
    SHARE_TOLERANCE,
    AccountTarget,
    ApmSleeveIn,
    ApmTargetIn,
    TargetLine,
    account_target,
)
from trimtab.io.tables import Column, read_table, require_values, table_path

Codes = npt.NDArray[np.int32]

SLEEVE_SCHEMAS: dict[str, list[Column]] = {
    "sleeves": [
        Column("account_id", pa.string()),
        Column("sleeve", pa.string()),
        Column("weight_pct", pa.float64()),
        Column("model_id", pa.string(), required=False, nullable=True),
        Column("cash_pct", pa.float64(), required=False, nullable=True),
    ],
    "apm_targets": [
        Column("account_id", pa.string()),
        Column("symbol", pa.string()),
        Column("target_pct", pa.float64()),
    ],
    "sleeve_positions": [
        Column("account_id", pa.string()),
        Column("sleeve", pa.string()),
        Column("symbol", pa.string()),
        Column("quantity", pa.float64()),
    ],
}


@dataclass(frozen=True, slots=True)
class BookSleeves:
    """What a book's sleeve tables add to its layout.

    Attributes:
        first_twin: symbol codes from this one on are APM twins.
        twin_of: the security's (real) symbol code of each twin, (T,).
        protected: ``(account_id, symbol code, shares)`` of each protected position.
    """

    first_twin: int
    twin_of: Codes
    protected: tuple[tuple[str, int, float], ...]

    @property
    def security(self) -> Codes:
        """The security of each symbol code, twins mapped to their security's code, then -1
        for padding (code -1), (S + T + 1,)."""
        out: Codes = np.r_[np.arange(self.first_twin), self.twin_of, -1].astype(np.int32)
        return out


SleeveTables = dict[str, tuple[str, pa.Table]]
"""The sleeve tables by name, each with the label its errors cite (a file name, or the
store's table): what a book folder holds, or what the service reads back from its store."""


def read_book_sleeves(
    folder: Path | str,
    *,
    keep_positions: bool = True,
    slots: int = 0,
    width: int = 0,
    apm: Sequence[str] = (),
) -> tuple[LoadedBook, BookSleeves | None]:
    """The book in ``folder`` with its accounts' sleeves laid out (``None``: the book has no
    sleeve tables, and is read exactly as :func:`read_book` reads it). Raises
    :class:`BookError` naming the table, row and column. ``slots``, ``width`` and ``apm``
    lay a part of a book out as the whole book is (:func:`lay_out_sleeves`)."""
    raw = read_sleeve_tables(folder)
    if not raw:
        return read_book(folder, keep_positions=keep_positions, slots=slots), None
    loaded = read_sleeved_book(folder, raw, keep_positions=keep_positions, slots=slots)
    return lay_out_sleeves(loaded, raw, slots=slots, width=width, apm=apm)


def has_protected_shares(folder: Path | str) -> bool:
    """Whether the book folder's ``sleeve_positions`` has a ``protected`` row (of the
    accounts read, inside :func:`~trimtab.io.book_subset.only_accounts`). A table that
    cannot be read counts as none: reading the book names what is wrong with it."""
    path = table_path(Path(folder), "sleeve_positions") if Path(folder).is_dir() else None
    if path is None:
        return False
    try:
        table = read_table(path, SLEEVE_SCHEMAS["sleeve_positions"])
    except (BookError, pa.ArrowException, OSError):
        return False
    column = table.column("sleeve")
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    return bool(pc.any(pc.equal(column, "protected")).as_py())


def read_sleeve_tables(folder: Path | str) -> SleeveTables:
    """The sleeve tables of ``folder`` present, their columns and required values checked."""
    folder = Path(folder)
    raw: SleeveTables = {}
    for name, columns in SLEEVE_SCHEMAS.items():
        path = table_path(folder, name) if folder.is_dir() else None
        if path is not None:
            table = read_table(path, columns)
            require_values(
                path.name, table, [c.name for c in columns if c.required and not c.nullable]
            )
            raw[name] = (path.name, table)
    return raw


def read_sleeved_book(
    folder: Path | str, raw: SleeveTables, *, keep_positions: bool = True, slots: int = 0
) -> LoadedBook:
    """The book in ``folder`` as :func:`read_book` reads it, each account whose target is in
    ``raw``'s ``sleeves`` laid out with a placeholder model (its ``model_id`` must be
    empty); ``tables["accounts"]`` is the table as given. Lay the sleeves on with
    :func:`lay_out_sleeves`."""
    kept: dict[str, pa.Table] = {}

    def prepare(tables: dict[str, pa.Table], labels: dict[str, str]) -> None:
        kept["accounts"] = tables["accounts"]
        tables["accounts"] = _placeholders(raw, tables, labels)

    loaded = read_book(folder, keep_positions=keep_positions, prepare=prepare, slots=slots)
    return replace(loaded, tables={**loaded.tables, "accounts": kept["accounts"]})


def _placeholders(
    raw: dict[str, tuple[str, pa.Table]], tables: dict[str, pa.Table], labels: dict[str, str]
) -> pa.Table:
    """``accounts`` with a model to lay out with (the first of ``models``) for each account
    whose target is in ``sleeves``; such an account's own ``model_id`` must be empty."""
    accounts = tables["accounts"]
    if "sleeves" not in raw:
        return accounts
    label, sleeves = raw["sleeves"]
    first_row: dict[str, int] = {}
    for i, account in enumerate(_texts(sleeves, "account_id"), start=1):
        first_row.setdefault(account, i)
    models = _texts(tables["accounts"], "model_id")
    given = [m not in (None, "") for m in models]
    ids = _texts(accounts, "account_id")
    for i, (account, has) in enumerate(zip(ids, given, strict=True), start=1):
        if has and account in first_row:
            raise BookError(
                f"{labels['accounts']} row {i} column model_id",
                f"must be empty: the target of account {account!r} is given in {label} "
                f"(row {first_row[account]})",
            )
    sleeved = np.array([a in first_row for a in ids], dtype=bool)
    if not sleeved.any() or tables["models"].num_rows == 0:
        return accounts
    placeholder = _texts(tables["models"], "model_id")[0]
    column = accounts.column("model_id").combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    model_id = pc.if_else(pa.array(sleeved), pa.scalar(placeholder, pa.string()), column)
    at = accounts.column_names.index("model_id")
    return accounts.set_column(at, "model_id", model_id)


def _texts(table: pa.Table, name: str) -> list[Any]:
    column = table.column(name)
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    out: list[Any] = column.to_pylist()
    return out


class _Rows:
    """The sleeve tables' rows by account, checked one row at a time through the scenario's
    sleeve models."""

    def __init__(self, loaded: LoadedBook, raw: dict[str, tuple[str, pa.Table]]) -> None:
        self.raw = raw
        self.account_code = {a: i for i, a in enumerate(loaded.account_ids.to_pylist())}
        self.symbol_code = {s: i for i, s in enumerate(loaded.symbols)}
        self.model_ids = set(loaded.model_ids)

    def rows(self, name: str) -> tuple[str, list[tuple[int, dict[str, Any]]]]:
        """The label and the numbered rows (from 1) of table ``name`` (none when absent)."""
        if name not in self.raw:
            return f"{name}.csv", []
        label, table = self.raw[name]
        columns = {c: _texts(table, c) for c in table.column_names}
        return label, [
            (i + 1, {c: v[i] for c, v in columns.items()}) for i in range(table.num_rows)
        ]

    def account(self, label: str, i: int, row: dict[str, Any]) -> str:
        account: str = row["account_id"]
        if account not in self.account_code:
            raise BookError(f"{label} row {i} column account_id", f"unknown account {account!r}")
        return account

    def symbol(self, label: str, i: int, row: dict[str, Any]) -> str:
        symbol: str = row["symbol"]
        if symbol not in self.symbol_code:
            raise BookError(f"{label} row {i} column symbol", f"no price for symbol {symbol!r}")
        return symbol


@functools.lru_cache(maxsize=4096)
def _validated(model: type[BaseModel], items: tuple[tuple[str, Any], ...]) -> Any:
    """``model`` of the fields ``items``, made once per distinct fields (a book's sleeve
    rows repeat a few weights and targets many times); the models are frozen."""
    return model.model_validate(dict(items))


def _parse(label: str, i: int, model: type[BaseModel], data: dict[str, Any]) -> Any:
    """``data`` as the scenario's ``model``; an error names the row and column."""
    try:
        try:
            return _validated(model, tuple(data.items()))
        except TypeError:  # a value that cannot be a key: validated as it is
            return model.model_validate(data)
    except ValidationError as err:
        path, problem = first_error(err)
        raise BookError(f"{label} row {i} column {path.split('.')[0]}", problem) from None


def _empty(value: Any) -> bool:
    return value is None or value == ""


@dataclass
class _Account:
    """One account's sleeves as read: rows of ``sleeves`` (row number, kind, weight, model,
    cash), APM targets and the sleeves' positions (row number, symbol, shares)."""

    sleeves: list[tuple[int, str, float, str | None, float]]
    targets: list[tuple[int, ApmTargetIn]]
    positions: dict[str, list[tuple[int, ProtectedPositionIn]]]

    def target_key(self) -> Hashable:
        """What the account's target is made of (:func:`_target` reads nothing else of
        it): its sleeves, APM targets and APM shares, without their row numbers."""
        return (
            tuple(s[1:] for s in self.sleeves),
            tuple((t.symbol, t.target_pct) for _, t in self.targets),
            tuple((p.symbol, p.quantity) for _, p in self.positions.get("apm", [])),
        )


def _read_rows(loaded: LoadedBook, raw: dict[str, tuple[str, pa.Table]]) -> dict[str, _Account]:
    """Every row of the sleeve tables, checked on its own, by account id."""
    found = _Rows(loaded, raw)
    by_account: dict[str, _Account] = defaultdict(lambda: _Account([], [], defaultdict(list)))
    label, rows = found.rows("sleeves")
    for i, row in rows:
        account = found.account(label, i, row)
        kind = row["sleeve"]
        if kind not in ("model", "apm"):
            extra = (
                ": protected shares are given in sleeve_positions" if kind == "protected" else ""
            )
            raise BookError(
                f"{label} row {i} column sleeve", f"must be one of model, apm, got {kind!r}{extra}"
            )
        model_id = row.get("model_id")
        cash = row.get("cash_pct")
        if kind == "model":
            if _empty(model_id):
                raise BookError(f"{label} row {i} column model_id", "value is missing")
            if model_id not in found.model_ids:
                raise BookError(f"{label} row {i} column model_id", f"unknown model {model_id!r}")
            if cash is not None:
                raise BookError(
                    f"{label} row {i} column cash_pct",
                    "must be empty for a model sleeve (its cash target is its model's)",
                )
        elif not _empty(model_id):
            raise BookError(f"{label} row {i} column model_id", "must be empty for an apm sleeve")
        data: dict[str, Any] = {"type": kind, "weight_pct": row["weight_pct"]}
        if kind == "apm" and cash is not None:
            data["cash_pct"] = cash
        # the weight (and cash) checked as the scenario checks an APM sleeve's: the same
        # rules as a model sleeve's weight
        checked = _parse(label, i, ApmSleeveIn, {**data, "type": "apm"})
        by_account[account].sleeves.append(
            (i, kind, checked.weight_pct, model_id, checked.cash_pct)
        )
    apm = {a for a, acc in by_account.items() if any(s[1] == "apm" for s in acc.sleeves)}
    label, rows = found.rows("apm_targets")
    seen: dict[tuple[str, str], int] = {}
    for i, row in rows:
        account = found.account(label, i, row)
        if account not in apm:
            raise BookError(
                f"{label} row {i} column account_id",
                f"account {account!r} has no apm sleeve in sleeves",
            )
        symbol = found.symbol(label, i, row)
        _unique(label, i, seen, (account, symbol), f"account_id={account}, symbol={symbol}")
        target = _parse(label, i, ApmTargetIn, {"symbol": symbol, "target_pct": row["target_pct"]})
        by_account[account].targets.append((i, target))
    label, rows = found.rows("sleeve_positions")
    seen = {}
    for i, row in rows:
        account = found.account(label, i, row)
        kind = row["sleeve"]
        if kind not in ("apm", "protected"):
            raise BookError(
                f"{label} row {i} column sleeve", f"must be one of apm, protected, got {kind!r}"
            )
        if kind == "apm" and account not in apm:
            raise BookError(
                f"{label} row {i} column account_id",
                f"account {account!r} has no apm sleeve in sleeves",
            )
        symbol = found.symbol(label, i, row)
        _unique(
            label,
            i,
            seen,
            (account, kind + symbol),
            f"account_id={account}, sleeve={kind}, symbol={symbol}",
        )
        position = _parse(
            label, i, ProtectedPositionIn, {"symbol": symbol, "quantity": row["quantity"]}
        )
        by_account[account].positions[kind].append((i, position))
    return dict(by_account)


def _unique(
    label: str, i: int, seen: dict[tuple[str, str], int], key: tuple[str, str], shown: str
) -> None:
    if key in seen:
        raise BookError(f"{label} row {i} column symbol", f"duplicate key ({shown})")
    seen[key] = i


def _models(raw_models: pa.Table) -> dict[str, ModelIn]:
    """The book's models as the scenario's, lines in file order; the cash target is what
    the lines leave of 100, summed in file order as the book sums them."""
    lines: dict[str, list[SecurityIn]] = defaultdict(list)
    columns = [
        _texts(raw_models, c) for c in ("model_id", "symbol", "target_pct", "min_pct", "max_pct")
    ]
    for model_id, symbol, target, lo, hi in zip(*columns, strict=True):
        lines[model_id].append(
            SecurityIn.model_construct(symbol=symbol, target_pct=target, min_pct=lo, max_pct=hi)
        )
    return {
        m: ModelIn.model_construct(
            cash_pct=min(max(100.0 - sum(s.target_pct for s in securities), 0.0), 100.0),
            securities=securities,
        )
        for m, securities in lines.items()
    }


def _no_check(model: ModelIn, where: str) -> None:
    """The book's models were checked when the book was read."""


def _target(
    account: str,
    acc: _Account,
    models: dict[str, ModelIn],
    prices: dict[str, float],
    labels: dict[str, str],
) -> AccountTarget:
    """The account's target from its model and APM sleeves, by the scenario's
    :func:`account_target`; its errors name the row and column behind the field."""
    sleeves: list[Any] = []
    for _, kind, weight, model_id, cash in acc.sleeves:
        if kind == "model":
            assert model_id is not None  # checked by _read_rows
            sleeves.append(
                ModelSleeveIn.model_construct(
                    type="model", weight_pct=weight, model=models[model_id]
                )
            )
        else:
            sleeves.append(
                ApmSleeveIn.model_construct(
                    type="apm",
                    weight_pct=weight,
                    cash_pct=cash,
                    targets=[t for _, t in acc.targets],
                    positions=[p for _, p in acc.positions.get("apm", [])],
                )
            )
    src = ScenarioIn.model_construct(
        method="",
        prices=prices,
        model=None,
        sleeves=sleeves,
        account=AccountIn.model_construct(id=account, positions=[]),
    )
    try:
        return account_target(src, _no_check)
    except ScenarioError as err:
        raise BookError(_where(err.where, acc, labels), err.problem) from None


def _where(field: str, acc: _Account, labels: dict[str, str]) -> str:
    """The row and column of a scenario field of an account's sleeves (``sleeves``,
    ``sleeves[i].type``, ``sleeves[i].targets``, ...)."""
    first = acc.sleeves[0][0]
    if field == "sleeves":
        return f"{labels['sleeves']} row {first} column weight_pct"
    index = int(field.split("[")[1].split("]")[0]) if "[" in field else 0
    row = acc.sleeves[index][0]
    if ".targets" in field:
        if acc.targets:
            return f"{labels['apm_targets']} row {acc.targets[0][0]} column target_pct"
        return f"{labels['sleeves']} row {row} column cash_pct"
    if ".positions" in field:
        apm = acc.positions.get("apm", [])
        if apm:
            return f"{labels['sleeve_positions']} row {apm[0][0]} column symbol"
    return f"{labels['sleeves']} row {row} column sleeve"


def lay_out_sleeves(
    loaded: LoadedBook,
    raw: SleeveTables,
    *,
    slots: int = 0,
    width: int = 0,
    apm: Sequence[str] = (),
) -> tuple[LoadedBook, BookSleeves]:
    """The read book with its sleeves: blends as extra models, APM lines and shares on twin
    codes, the sleeves' shares checked against the account's positions. Raises
    :class:`BookError` naming the table, row and column.

    A part of a book (a cluster partition) is laid out as the whole book is with the whole
    book's least ``slots`` per account, model ``width`` (its longest blend) and ``apm``
    securities (each gets a twin code, as in the whole book, whether this part's sleeves
    hold it or not).

    ``loaded`` needs its ``arrays``, ``account_ids``, ``symbols``, ``model_ids``,
    ``lot_codes`` and ``tables["models"]`` (the models' lines in order, which model sleeves
    blend): a book read by :func:`read_sleeved_book`, or the service's stored accounts (an
    account whose target is in ``sleeves`` laid out with any model, or none)."""
    labels = {name: raw[name][0] if name in raw else f"{name}.csv" for name in SLEEVE_SCHEMAS}
    accounts = _read_rows(loaded, raw)
    a = loaded.arrays
    account_code = {x: i for i, x in enumerate(loaded.account_ids.to_pylist())}
    symbol_code = {s: i for i, s in enumerate(loaded.symbols)}
    _check_shares(loaded, accounts, account_code, symbol_code, labels["sleeve_positions"])
    targets: dict[int, AccountTarget] = {}
    if any(acc.sleeves for acc in accounts.values()):
        models = _models(loaded.tables["models"])
        prices = dict(zip(loaded.symbols, a.price[:-1].tolist(), strict=True))
        # accounts of the same sleeves share one target: a firm has a few blends, each
        # followed by many accounts (laid out once each, not once per account)
        made: dict[Hashable, AccountTarget] = {}
        for account, acc in accounts.items():
            if acc.sleeves:
                key = acc.target_key()
                if key not in made:
                    made[key] = _target(account, acc, models, prices, labels)
                targets[account_code[account]] = made[key]
    n_real = len(loaded.symbols)
    apm_symbols = sorted({s for t in targets.values() for s in t.apm_symbols} | set(apm))
    twin = {s: n_real + i for i, s in enumerate(apm_symbols)}
    twin_of = np.array([symbol_code[s] for s in apm_symbols], dtype=np.int32)
    protected = tuple(
        (account, symbol_code[p.symbol], p.quantity)
        for account, acc in accounts.items()
        for _, p in acc.positions.get("protected", [])
    )
    sleeves = BookSleeves(first_twin=n_real, twin_of=twin_of, protected=protected)
    if not targets and not apm_symbols and width <= a.model_width:
        return loaded, sleeves
    # One extra model per distinct target, lines as the scenario lays them out.
    blends: dict[tuple[float, tuple[TargetLine, ...]], int] = {}
    account_model = a.account_model.copy()
    for row, t in targets.items():
        key = (t.cash_pct, t.lines)
        account_model[row] = a.model_symbol.shape[0] + blends.setdefault(key, len(blends))
    width = max([a.model_width, width, *(len(lines) for _, lines in blends)])
    n_models = a.model_symbol.shape[0] + len(blends)
    model_symbol = np.full((n_models, width), -1, dtype=np.int32)
    model_symbol[: a.model_symbol.shape[0], : a.model_width] = a.model_symbol
    grids = []
    for old in (a.model_target, a.model_lower, a.model_upper):
        grid = np.zeros((n_models, width))
        grid[: old.shape[0], : old.shape[1]] = old
        grids.append(grid)
    cash = np.r_[a.model_cash, np.zeros(len(blends))]
    for (cash_pct, lines), b in blends.items():
        m = a.model_symbol.shape[0] + b
        model_symbol[m, : len(lines)] = [
            twin[ln.symbol] if ln.apm else symbol_code[ln.symbol] for ln in lines
        ]
        # percent to fractions as a scenario's book of one divides them
        grids[0][m, : len(lines)] = np.array([ln.target_pct for ln in lines]) / 100.0
        grids[1][m, : len(lines)] = np.array([ln.min_pct for ln in lines]) / 100.0
        grids[2][m, : len(lines)] = np.array([ln.max_pct for ln in lines]) / 100.0
        cash[m] = cash_pct / 100.0
    position = _positions(loaded, targets, symbol_code, twin)
    arrays = assemble_book(
        price=np.r_[a.price[:-1], a.price[twin_of]],
        model_symbol=model_symbol,
        model_target=grids[0],
        model_lower=grids[1],
        model_upper=grids[2],
        model_cash=cash,
        account_model=account_model,
        cash=a.cash,
        position_account=position[0],
        position_symbol=position[1],
        position_quantity=position[2],
        slots=slots,
    )
    names = tuple(f"sleeves:{i + 1}" for i in range(len(blends)))
    return (
        replace(
            loaded,
            arrays=arrays,
            symbols=loaded.symbols + tuple(apm_symbols),
            model_ids=loaded.model_ids + names,
        ),
        sleeves,
    )


def _positions(
    loaded: LoadedBook,
    targets: dict[int, AccountTarget],
    symbol_code: dict[str, int],
    twin: dict[str, int],
) -> tuple[Codes, Codes, npt.NDArray[np.float64]]:
    """The book's holdings as (account code, symbol code, shares), the APM sleeves' shares
    moved to their twin codes: a position the APM sleeve holds in full has no slot of its
    own (as in a scenario)."""
    a = loaded.arrays
    quantity = a.quantity.copy()
    held = quantity > 0
    held[:, a.model_width :] |= a.slot_symbol[:, a.model_width :] >= 0
    extra_account: list[int] = []
    extra_symbol: list[int] = []
    extra_shares: list[float] = []
    for row, t in targets.items():
        if not t.apm_shares:
            continue
        codes = np.array([symbol_code[s] for s in t.apm_shares], dtype=np.int32)
        slots = a.slots_of(np.full(codes.size, row, dtype=np.int32), codes)
        for j, (s, shares) in zip(slots.tolist(), t.apm_shares.items(), strict=True):
            q = max(float(quantity[row, j]) - shares, 0.0)
            quantity[row, j] = q
            if q <= SHARE_TOLERANCE:
                quantity[row, j] = 0.0
                held[row, j] = False
            extra_account.append(row)
            extra_symbol.append(twin[s])
            extra_shares.append(shares)
    rows, cols = np.nonzero(held)
    return (
        np.r_[rows.astype(np.int32), np.array(extra_account, dtype=np.int32)],
        np.r_[a.slot_symbol[rows, cols], np.array(extra_symbol, dtype=np.int32)],
        np.r_[quantity[rows, cols], np.array(extra_shares)],
    )


def _check_shares(
    loaded: LoadedBook,
    accounts: dict[str, _Account],
    account_code: dict[str, int],
    symbol_code: dict[str, int],
    label: str,
) -> None:
    """As the scenario's ``check_sleeve_shares``: the shares of the APM and protected
    sleeves, added up per symbol, are at most the account's position, and the APM sleeve
    holds no shares of a position given by tax lots."""
    with_lots: set[tuple[int, int]] = set()
    if loaded.lot_codes is not None:
        with_lots = set(zip(*(c.tolist() for c in loaded.lot_codes), strict=True))
    a = loaded.arrays
    for account, acc in accounts.items():
        r = account_code[account]
        rows = sorted((i, kind, p) for kind, found in acc.positions.items() for i, p in found)
        total: dict[str, float] = {}
        for i, kind, p in rows:
            code = symbol_code[p.symbol]
            if kind == "apm" and (r, code) in with_lots:
                raise BookError(
                    f"{label} row {i} column symbol",
                    f"the position in {p.symbol!r} is given by tax lots: an APM sleeve cannot "
                    "hold shares of it (which lots are the sleeve's is not known)",
                )
            j = int(a.slots_of(np.array([r], dtype=np.int32), np.array([code], dtype=np.int32))[0])
            held = float(a.quantity[r, j]) if j >= 0 else 0.0
            total[p.symbol] = total.get(p.symbol, 0.0) + p.quantity
            if total[p.symbol] > held + SHARE_TOLERANCE:
                raise BookError(
                    f"{label} row {i} column quantity",
                    f"more than the {held:g} shares of {p.symbol!r} held",
                )
