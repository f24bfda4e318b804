"""Batch outputs over a whole book: the drift table and the propose-book tables."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trimtab.core.book import drift_book, propose_book
from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import InputError
from trimtab.io.book import LoadedBook
from trimtab.io.proposal import MESSAGE_TEXTS, STATUS_LABELS


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
    names = [m.value for m in Method]
    if method not in names:
        raise InputError("--method", f"must be one of {', '.join(names)}, got {method!r}")
    try:
        chosen = Method(method)
    except ValueError:
        raise InputError("--method", f"{method!r} is not supported by propose-book") from None
    if rounding not in ("whole_shares", "fractional"):
        raise InputError("--rounding", f"must be whole_shares or fractional, got {rounding!r}")
    generating = chosen is Method.GENERATE_CASH
    investing = chosen in (Method.INVEST_CASH_PROPORTIONAL, Method.INVEST_CASH_MIN_TRADES)
    for name, value, used in (
        ("--cash-to-generate", cash_to_generate, generating),
        ("--mccar-pct", mccar_pct, generating),
        ("--cash-to-invest", cash_to_invest, investing),
    ):
        if value is not None and not used:
            raise InputError(name, f"not used by method {method!r}")
    if generating and cash_to_generate is None and not mccar_pct:
        raise InputError("--cash-to-generate", f"required by method {method!r}")
    return chosen, TradeOptions(
        fractional=rounding == "fractional",
        share_decimals=share_decimals,
        cash_to_generate=cash_to_generate or 0.0,
        mccar_pct=mccar_pct or 0.0,
        cash_to_invest=cash_to_invest,
        min_trade_value=min_trade_value,
    )


def drift_table(loaded: LoadedBook, *, workers: int = 2) -> pa.Table:
    """One row per account: ``account_id, value, max_drift_pct, out_of_band, flagged``."""
    result = drift_book(loaded.arrays, workers=workers)
    return pa.table(
        {
            "account_id": loaded.account_ids,
            "value": np.round(result.value, 2),
            "max_drift_pct": np.round(result.max_drift * 100.0, 4),
            "out_of_band": result.out_of_band,
            "flagged": result.out_of_band > 0,
        }
    )


ACTIONS = pa.array(["buy", "sell"])
STATUSES = pa.array(STATUS_LABELS.tolist())
MESSAGES = pa.array(MESSAGE_TEXTS.tolist())


def _coded(indices: npt.NDArray[np.integer], dictionary: pa.Array) -> pa.DictionaryArray:
    """Strings as a dictionary array: no string is copied per row."""
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary)


def iter_proposal_tables(
    loaded: LoadedBook, method: Method, options: TradeOptions, *, workers: int = 2
) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Trades (one row per buy or sell) and statuses, chunk by chunk, in account order.

    Text columns are dictionary-encoded, so memory stays flat however large the book.
    """
    book = loaded.arrays
    symbols = pa.array(loaded.symbols)
    for start, stop, p in propose_book(book, method, options, workers=workers):
        rows, cols = np.nonzero(p.quantity)
        qty = p.quantity[rows, cols]
        sym = book.slot_symbol[start + rows, cols]
        quantity: pa.Array = (
            pa.array(np.round(np.abs(qty), options.share_decimals))
            if options.fractional
            else pa.array(np.rint(np.abs(qty)).astype(np.int64))
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
            }
        )
        statuses = pa.table(
            {
                "account_id": loaded.account_ids[start:stop],
                "status": _coded(p.status.astype(np.int32), STATUSES),
                "message": _coded(p.message.astype(np.int32), MESSAGES),
                "value": np.round(p.value, 2),
                "cash_after": np.round(p.cash_after, 2),
            }
        )
        yield trades, statuses


def propose_tables(
    loaded: LoadedBook, method: Method, options: TradeOptions, *, workers: int = 2
) -> tuple[pa.Table, pa.Table]:
    """Trades and statuses for the whole book as two tables (for books that fit in memory;
    :func:`write_proposals` streams instead)."""
    parts = list(iter_proposal_tables(loaded, method, options, workers=workers))
    if not parts:
        return _empty_trades(options), _empty_statuses()
    trades = pa.concat_tables([t for t, _ in parts], promote_options="permissive")
    statuses = pa.concat_tables([s for _, s in parts], promote_options="permissive")
    return trades, statuses


def _empty_trades(options: TradeOptions) -> pa.Table:
    return pa.table(
        {
            "account_id": pa.array([], pa.string()),
            "symbol": pa.array([], pa.string()),
            "action": pa.array([], pa.string()),
            "quantity": pa.array([], pa.float64() if options.fractional else pa.int64()),
            "price": pa.array([], pa.float64()),
            "order_value": pa.array([], pa.float64()),
            "trade_value": pa.array([], pa.float64()),
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
        }
    )


class _Sink:
    """One output, CSV or Parquet by extension (CSV on standard output), written in parts."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self.writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
        self.stream: pa.BufferOutputStream | None = None

    def write(self, table: pa.Table) -> None:
        table = _plain(table)
        if self.writer is None:
            if self.out is None:
                self.stream = pa.BufferOutputStream()
                self.writer = pacsv.CSVWriter(self.stream, table.schema)
            elif self.out.suffix == ".parquet":
                self.writer = pq.ParquetWriter(self.out, table.schema)
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
) -> None:
    """Stream trades to ``out`` (standard output when ``None``) and statuses to ``status_out``
    (skipped when ``None``), chunk by chunk."""
    trades_sink = _Sink(out)
    status_sink = _Sink(status_out) if status_out is not None else None
    wrote = False
    for trades, statuses in iter_proposal_tables(loaded, method, options, workers=workers):
        trades_sink.write(trades)
        if status_sink is not None:
            status_sink.write(statuses)
        wrote = True
    if not wrote:
        trades_sink.write(_empty_trades(options))
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
