"""Batch outputs over a whole book: the drift table and the propose-book tables."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trimtab.core.book import drift_book, propose_book
from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import InputError
from trimtab.io.book import LoadedBook
from trimtab.io.proposal import MESSAGE_TEXTS, STATUS_LABELS
from trimtab.io.scenario import ALL_METHODS


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
    if method not in ALL_METHODS:
        raise InputError("--method", f"must be one of {', '.join(ALL_METHODS)}, got {method!r}")
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


def propose_tables(
    loaded: LoadedBook, method: Method, options: TradeOptions, *, workers: int = 2
) -> tuple[pa.Table, pa.Table]:
    """Trades (one row per buy or sell) and per-account statuses for the whole book."""
    book = loaded.arrays
    acc_parts, slot_parts, qty_parts, ov_parts, tv_parts = [], [], [], [], []
    status = np.empty(book.size, dtype=np.int8)
    message = np.empty(book.size, dtype=np.int8)
    cash_after = np.empty(book.size)
    value = np.empty(book.size)
    for start, stop, p in propose_book(book, method, options, workers=workers):
        rows, cols = np.nonzero(p.quantity)
        acc_parts.append(rows + start)
        slot_parts.append(book.slot_symbol[start + rows, cols])
        qty_parts.append(p.quantity[rows, cols])
        ov_parts.append(p.order_value[rows, cols])
        tv_parts.append(p.trade_value[rows, cols])
        status[start:stop] = p.status
        message[start:stop] = p.message
        cash_after[start:stop] = p.cash_after
        value[start:stop] = p.value
    acc = np.concatenate(acc_parts) if acc_parts else np.zeros(0, dtype=np.int64)
    sym = np.concatenate(slot_parts) if slot_parts else np.zeros(0, dtype=np.int32)
    qty = np.concatenate(qty_parts) if qty_parts else np.zeros(0)
    ov = np.concatenate(ov_parts) if ov_parts else np.zeros(0)
    tv = np.concatenate(tv_parts) if tv_parts else np.zeros(0)
    symbols = pa.array(loaded.symbols)
    quantity: pa.Array = (
        pa.array(np.round(np.abs(qty), options.share_decimals))
        if options.fractional
        else pa.array(np.rint(np.abs(qty)).astype(np.int64))
    )
    trades = pa.table(
        {
            "account_id": loaded.account_ids.take(pa.array(acc)),
            "symbol": symbols.take(pa.array(sym)),
            "action": pa.array(np.where(qty > 0, "buy", "sell").astype(object)),
            "quantity": quantity,
            "price": book.price[sym],
            "order_value": np.round(np.abs(ov), 2),
            "trade_value": np.round(np.abs(tv), 2),
        }
    )
    statuses = pa.table(
        {
            "account_id": loaded.account_ids,
            "status": pa.array(STATUS_LABELS[status].astype(object)),
            "message": pa.array(MESSAGE_TEXTS[message].astype(object)),
            "value": np.round(value, 2),
            "cash_after": np.round(cash_after, 2),
        }
    )
    return trades, statuses


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
