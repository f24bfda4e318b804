"""Readable tables for the terminal (Rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_proposal(document: dict[str, Any], console: Console | None = None) -> None:
    """A proposal as the seeds' tables: symbol, action, price, $ trade, shares, weights."""
    console = console or Console(width=max(Console().width, 132))
    for account in document["accounts"]:
        table = Table(
            title=f"Account {account['id']} — {document['method']} — {account['status']}",
            caption=(
                f"value ${account['value']:,.2f}   cash ${account['cash_before']:,.2f}"
                f" → ${account['cash_after']:,.2f}"
            ),
        )
        for name in (
            "Symbol",
            "Action",
            "$ Price",
            "$ Trade",
            "Shares",
            "Rounded shares",
            "$ Order",
            "Before %",
            "Target %",
            "After %",
        ):
            table.add_column(name, justify="left" if name in ("Symbol", "Action") else "right")
        for t in account["trades"]:
            none = t["action"] == "none"
            shares = t["trade_value"] / t["price"] if t["trade_value"] else 0.0
            table.add_row(
                f"{t['symbol']} (APM)" if t.get("sleeve") == "apm" else t["symbol"],
                "Zero Trade" if none else t["action"].capitalize(),
                f"{t['price']:,.2f}",
                "-" if none else f"{t['trade_value']:,.2f}",
                "-" if none else f"{shares:,.3f}",
                "-" if none else f"{t['quantity']:,}",
                "-" if none else f"{t['order_value']:,.2f}",
                f"{t['weight_before_pct']:.2f}",
                f"{t['target_pct']:.2f}",
                f"{t['weight_after_pct']:.2f}",
            )
        console.print(table)
        for message in account["messages"]:
            console.print(f"[yellow]{message}[/yellow]")
