"""Batch outputs over a whole book: the drift table and the propose-book tables."""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trimtab.core.book import CHUNK, RULES_CHUNK, drift_book, map_chunks
from trimtab.core.engine import Method, TradeOptions
from trimtab.core.rules import SlotRules
from trimtab.io.arrow import from_numpy, strings
from trimtab.io.book import LoadedBook, twin_start, with_extra_holdings
from trimtab.io.household_book import household_codes, household_spans
from trimtab.io.proposal import MESSAGE_TEXTS, STATUS_LABELS
from trimtab.io.relief import relief_text
from trimtab.io.tables import table_path
from trimtab.options import parse_method, trade_options
from trimtab.pipeline import Partition, Proposed, propose_partition


def batch_options(
    *,
    method: str,
    rounding: str,
    share_decimals: int,
    cash_to_generate: float | None,
    mccar_pct: float | None,
    cash_to_invest: float | None,
    min_trade_value: float,
) -> tuple[Method, TradeOptions]:
    """Command-line options as the engine's; the same rules as a scenario's ``options``."""
    chosen = parse_method(method, field="logic")
    return chosen, trade_options(
        chosen,
        rounding=rounding,
        share_decimals=share_decimals,
        cash_to_generate=cash_to_generate,
        mccar_pct=mccar_pct,
        cash_to_invest=cash_to_invest,
        min_trade_value=min_trade_value,
    )


def drift_table(loaded: LoadedBook, *, workers: int = 2) -> pa.Table:
    """One row per account: ``account_id, value, max_drift_pct, out_of_band, flagged``."""
    result = drift_book(loaded.arrays, workers=workers)
    return pa.table(
        [
            loaded.account_ids,
            from_numpy(np.round(result.value, 2)),
            from_numpy(np.round(result.max_drift * 100.0, 4)),
            from_numpy(result.out_of_band),
            from_numpy(result.out_of_band > 0),
        ],
        names=["account_id", "value", "max_drift_pct", "out_of_band", "flagged"],
    )


ACTIONS = strings(["buy", "sell"])
STATUSES = strings(STATUS_LABELS.tolist())
MESSAGES = strings(MESSAGE_TEXTS.tolist())
SLEEVES = strings(["", "apm"])


def _coded(indices: npt.NDArray[np.integer], dictionary: pa.Array) -> pa.DictionaryArray:
    """Strings as a dictionary array: no string is copied per row."""
    return pa.DictionaryArray.from_arrays(from_numpy(indices.astype(np.int32)), dictionary)


@dataclass(frozen=True, slots=True)
class BookRulesOn:
    """A book's rules laid on its slots, and the date they are evaluated at."""

    rules: SlotRules
    as_of: date
    qualified: npt.NDArray[np.bool_]
    lot_ids: pa.ChunkedArray | None = None
    """The ``lots`` table's ``lot_id`` column (the lots' ``source`` indexes it)."""
    security: npt.NDArray[np.int32] | None = None
    """The security of each symbol code (an APM twin's is its security's, see
    ``trimtab.io.book_sleeves``), then -1 for padding; ``None``: each code is its own."""


def _chunk_proposal(
    loaded: LoadedBook,
    method: Method,
    options: TradeOptions,
    rules: BookRulesOn | None,
    start: int,
    stop: int,
) -> tuple[Proposed, pa.Array]:
    """Proposals of accounts ``start:stop`` (whole households), and the lots each trade line
    relieved (text, see :func:`relief_text`; null without lots)."""
    part = chunk_partition(loaded, method, rules, start, stop)
    done = propose_partition(part, method, options.rows(start, stop))
    result = done.proposal
    if done.ruled is None or done.relieved is None or rules is None:
        return done, pa.nulls(int(np.count_nonzero(result.quantity)), pa.string())
    text = relief_text(
        done.ruled.rules.lots,
        done.relieved,
        np.flatnonzero(result.quantity),
        result.quantity.shape[1],
        rules.lot_ids,
        options.share_decimals if options.fractional else 9,
    )
    return done, text


def chunk_partition(
    loaded: LoadedBook, method: Method, rules: BookRulesOn | None, start: int, stop: int
) -> Partition:
    """Accounts ``start:stop`` of the book (whole households) as the pipeline's partition for
    ``method``, with their rules; a new batch each call (the pipeline may overwrite it)."""
    by_household = rules is not None or method is Method.HOUSEHOLD_REBALANCE
    return Partition(
        batch=loaded.arrays.batch(start, stop),
        symbol=_securities(loaded.arrays.slot_symbol[start:stop], rules),
        household=household_codes(loaded, start, stop) if by_household else None,
        rules=None if rules is None else rules.rules.prepared_rows(start, stop),
        qualified=None if rules is None else rules.qualified[start:stop],
        as_of=None if rules is None else rules.as_of,
        owned=True,
    )


def chunk_spans(
    loaded: LoadedBook, methods: Collection[Method], rules: BookRulesOn | None
) -> tuple[int, list[tuple[int, int]] | None]:
    """The chunk size and spans (``None``: plain chunks) to propose ``methods`` over the
    book in: whole households per chunk when a logic plans by household or under rules."""
    size = CHUNK if rules is None else RULES_CHUNK
    if rules is not None or Method.HOUSEHOLD_REBALANCE in methods:
        return size, household_spans(loaded, size)
    return size, None


def _securities(slots: npt.NDArray[np.int32], rules: BookRulesOn | None) -> npt.NDArray[np.int32]:
    """The security of each slot: its symbol code, an APM twin's security's code."""
    if rules is None or rules.security is None:
        return slots
    out: npt.NDArray[np.int32] = rules.security[slots]
    return out


def iter_proposal_tables(
    loaded: LoadedBook,
    method: Method,
    options: TradeOptions,
    *,
    workers: int = 2,
    rules: BookRulesOn | None = None,
) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Trades (one row per buy or sell) and statuses, chunk by chunk, in account order.

    ``household_rebalance``, and every logic under ``rules`` (wash sales look across the
    household), plans whole households per chunk: the accounts of a household must be
    together (:func:`trimtab.io.household_book.group_households`).

    Text columns are dictionary-encoded, so memory stays flat however large the book. With
    ``rules``, every logic honours the book's restrictions, locks, lots and trading rules,
    sells carry their realised gains and statuses the approval flag.
    """
    book = loaded.arrays
    symbols = pa.array(loaded.symbols)
    work = partial(_chunk_proposal, loaded, method, options, rules)
    size, spans = chunk_spans(loaded, [method], rules)
    chunks = map_chunks(book, work, workers=workers, size=size, spans=spans)
    twins = twin_start(loaded.symbols)  # APM lines (io/book_sleeves.py): a sleeve column
    for start, stop, (done, lots) in chunks:
        p, short, long = done.proposal, done.short_term_gain, done.long_term_gain
        rows, cols = np.nonzero(p.quantity)
        qty = p.quantity[rows, cols]
        sym = book.slot_symbol[start + rows, cols]
        # whole shares are whole, except a full sale of a fractional holding: all of it
        quantity = pa.array(
            np.round(np.abs(qty), options.share_decimals if options.fractional else 9)
        )
        trades = pa.table(
            {
                "account_id": _coded(rows + start, loaded.account_ids),
                "symbol": _coded(sym, symbols),
                "action": _coded((qty < 0).astype(np.int32), ACTIONS),
                "quantity": quantity,
                "price": book.price[sym],
                "order_value": np.round(np.abs(p.order_value[rows, cols]), 2),
                "trade_value": np.round(np.abs(p.trade_value[rows, cols]), 2),
                "short_term_gain": np.round(short[rows, cols], 2),
                "long_term_gain": np.round(long[rows, cols], 2),
                "lots": lots,
            }
        )
        if twins is not None:
            trades = trades.append_column(
                "sleeve", _coded((sym >= twins).astype(np.int32), SLEEVES)
            )
        gain = short.sum(axis=1) + long.sum(axis=1)
        statuses = pa.table(
            {
                "account_id": loaded.account_ids[start:stop],
                "status": _coded(p.status.astype(np.int32), STATUSES),
                "message": _coded(p.message.astype(np.int32), MESSAGES),
                "value": np.round(p.value, 2),
                "cash_after": np.round(p.cash_after, 2),
                "realized_gain": np.round(gain, 2),
                "needs_approval": done.needs_approval,
            }
        )
        yield trades, statuses


def with_book_classes(loaded: LoadedBook, method: Method, options: TradeOptions) -> TradeOptions:
    """Withdrawal checks sub-asset-class drift: the class of every slot, from ``prices``."""
    prices = loaded.tables["prices"]
    if method is not Method.WITHDRAWAL or "sub_asset_class" not in prices.column_names:
        return options
    by_symbol = dict(
        zip(
            prices.column("symbol").to_pylist(),
            prices.column("sub_asset_class").to_pylist(),
            strict=True,
        )
    )
    names = sorted({c for c in by_symbol.values() if c is not None})
    code = {name: i for i, name in enumerate(names)}
    per_symbol = np.array(
        [code.get(by_symbol[s], -1) if by_symbol[s] is not None else -1 for s in loaded.symbols]
        + [-1],
        dtype=np.int32,
    )
    return replace(options, sub_asset_class=per_symbol[loaded.arrays.slot_symbol])


RULE_TABLES = (
    "restrictions",
    "locks",
    "transactions",
    "short_term_windows",
    "lots",
    "specific_lots",
)
"""Tables that make a book's proposals rule-aware (and ``--as-of`` required)."""


def has_rules(folder: Path) -> bool:
    """The book has rule tables or tax lots."""
    return any(table_path(folder, name) is not None for name in RULE_TABLES)


def book_rules(folder: Path, loaded: LoadedBook, as_of: date) -> tuple[LoadedBook, BookRulesOn]:
    """The book's rule tables on ``as_of``, laid on its slots (each chunk's rules are
    prepared where the chunk is proposed); the book gains zero-quantity slots for
    substitutes and group members it neither holds nor has in a model."""
    from trimtab.io.book_rules import book_slot_rules, qualified_accounts

    rules, extra = book_slot_rules(folder, loaded, as_of=as_of)
    widened = with_extra_holdings(loaded, extra) if extra else loaded
    if widened is not loaded:  # some substitute or member had no slot: lay the rules again
        loaded = widened
        rules, _ = book_slot_rules(folder, loaded, as_of=as_of)
    lots = loaded.tables.get("lots")
    lot_ids = lots.column("lot_id") if lots is not None and "lot_id" in lots.column_names else None
    return loaded, BookRulesOn(
        rules=rules,
        as_of=as_of,
        qualified=qualified_accounts(loaded.tables["accounts"]),
        lot_ids=lot_ids,
    )


def propose_tables(
    loaded: LoadedBook,
    method: Method,
    options: TradeOptions,
    *,
    workers: int = 2,
    rules: BookRulesOn | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Trades and statuses for the whole book as two tables (for books that fit in memory;
    :func:`write_proposals` streams instead)."""
    parts = list(iter_proposal_tables(loaded, method, options, workers=workers, rules=rules))
    if not parts:
        return _empty_trades(), _empty_statuses()
    trades = pa.concat_tables([t for t, _ in parts], promote_options="permissive")
    statuses = pa.concat_tables([s for _, s in parts], promote_options="permissive")
    return trades, statuses


def _empty_trades() -> pa.Table:
    return pa.table(
        {
            "account_id": pa.array([], pa.string()),
            "symbol": pa.array([], pa.string()),
            "action": pa.array([], pa.string()),
            "quantity": pa.array([], pa.float64()),
            "price": pa.array([], pa.float64()),
            "order_value": pa.array([], pa.float64()),
            "trade_value": pa.array([], pa.float64()),
            "short_term_gain": pa.array([], pa.float64()),
            "long_term_gain": pa.array([], pa.float64()),
            "lots": pa.array([], pa.string()),
        }
    )


def _empty_statuses() -> pa.Table:
    return pa.table(
        {
            "account_id": pa.array([], pa.string()),
            "status": pa.array([], pa.string()),
            "message": pa.array([], pa.string()),
            "value": pa.array([], pa.float64()),
            "cash_after": pa.array([], pa.float64()),
            "realized_gain": pa.array([], pa.float64()),
            "needs_approval": pa.array([], pa.bool_()),
        }
    )


class _Sink:
    """One output, CSV or Parquet by extension (CSV on standard output), written in parts;
    ``.arrow``: an Arrow IPC file (a cluster run's part files)."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self.writer: pq.ParquetWriter | pacsv.CSVWriter | pa.ipc.RecordBatchFileWriter | None = None
        self.stream: pa.BufferOutputStream | None = None

    def write(self, table: pa.Table) -> None:
        table = _plain(table)
        if self.writer is None:
            if self.out is None:
                self.stream = pa.BufferOutputStream()
                self.writer = pacsv.CSVWriter(self.stream, table.schema)
            elif self.out.suffix == ".parquet":
                plain = [n for n in table.schema.names if n not in _UNIQUE_TEXT]
                self.writer = pq.ParquetWriter(self.out, table.schema, use_dictionary=plain)
            elif self.out.suffix == ".arrow":
                self.writer = pa.ipc.new_file(str(self.out), table.schema)
            else:
                self.writer = pacsv.CSVWriter(str(self.out), table.schema)
        self.writer.write_table(table)
        if self.stream is not None:
            sys.stdout.buffer.write(self.stream.getvalue().to_pybytes())
            self.stream = pa.BufferOutputStream()
            self.writer = pacsv.CSVWriter(self.stream, table.schema, write_options=_NO_HEADER)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.stream is not None:
            sys.stdout.buffer.write(self.stream.getvalue().to_pybytes())
        sys.stdout.flush()


_NO_HEADER = pacsv.WriteOptions(include_header=False)
_UNIQUE_TEXT = ("lots",)
"""Columns whose texts rarely repeat: Parquet writes them without a dictionary (trying one
costs time and, once it overflows, space)."""


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary text columns as plain strings (one chunk at a time: bounded memory), so
    that every part of a file has the same schema."""
    columns = [
        c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def write_proposals(
    loaded: LoadedBook,
    method: Method,
    options: TradeOptions,
    *,
    out: Path | None,
    status_out: Path | None,
    workers: int = 2,
    rules: BookRulesOn | None = None,
) -> None:
    """Stream trades to ``out`` (standard output when ``None``) and statuses to ``status_out``
    (skipped when ``None``), chunk by chunk."""
    parts = iter_proposal_tables(loaded, method, options, workers=workers, rules=rules)
    write_table_pairs(parts, out=out, status_out=status_out)


def write_table_pairs(
    parts: Iterable[tuple[pa.Table, pa.Table]], *, out: Path | None, status_out: Path | None
) -> None:
    """Write trades and statuses, part by part, as :func:`write_proposals` (a cluster run
    writes each partition's and then the whole book's this way)."""
    trades_sink = _Sink(out)
    status_sink = _Sink(status_out) if status_out is not None else None
    wrote = False
    for trades, statuses in parts:
        trades_sink.write(trades)
        if status_sink is not None:
            status_sink.write(statuses)
        wrote = True
    if not wrote:
        trades_sink.write(_empty_trades())
        if status_sink is not None:
            status_sink.write(_empty_statuses())
    trades_sink.close()
    if status_sink is not None:
        status_sink.close()


def write_output(table: pa.Table, out: Path | None) -> None:
    """CSV or Parquet by the file's extension; CSV on standard output without a file."""
    if out is None:
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink)
        sys.stdout.buffer.write(sink.getvalue().to_pybytes())
        sys.stdout.flush()
    elif out.suffix == ".parquet":
        pq.write_table(table, out)
    else:
        pacsv.write_csv(table, out)
