"""``trimtab account show``: one account's settings, target, restrictions, locks and holdings.

Registered on the ``account`` group of :mod:`trimtab.cli_service`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from trimtab.cli_service import Db, Firm, _num, _print, _run


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return _num(value)
    return str(value)


def register(app: typer.Typer) -> None:
    """Add ``account show`` to the ``account`` group of ``app``."""
    account_app = next(g.typer_instance for g in app.registered_groups if g.name == "account")
    assert account_app is not None

    @account_app.command("show")
    def account_show(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        db: Db = None,
    ) -> None:
        """An account's settings, target, restrictions, locks and holdings (newest book)."""
        from trimtab.service.account_view import show_account

        view = _run(db, firm, lambda uow: show_account(uow, account_id=account_id))
        settings = ", ".join(f"{k} {_text(v)}" for k, v in view.settings.items())
        model = f"{view.model_id} v{view.model_version}" if view.model_id else "none"
        model = "sleeves" if view.sleeves and not view.model_id else model
        typer.echo(f"account {view.account_id}: target {model}")
        typer.echo(f"settings: {settings}")
        typer.echo(
            "open request: " + (str(view.open_request) if view.open_request is not None else "none")
        )
        if view.target:
            target = Table("symbol", "target %", "min %", "max %", title="target")
            for line in view.target:
                target.add_row(
                    line["symbol"], *(_text(line[k]) for k in ("target_pct", "min_pct", "max_pct"))
                )
            _print(target, None)
        if view.book_date is None:
            typer.echo("no book imported for this account yet")
            return
        holdings = Table(
            "symbol", "quantity", "price", "value", "weight %", title=f"holdings {view.book_date}"
        )
        for h in view.holdings:
            holdings.add_row(
                h.symbol,
                _text(h.quantity),
                _text(h.price),
                "" if h.value is None else f"{h.value:,.2f}",
                _text(h.weight_pct),
            )
        holdings.add_row("cash", "", "", f"{view.cash:,.2f}" if view.cash is not None else "", "")
        _print(holdings, None)
        for title, rows in (
            ("restrictions", view.restrictions),
            ("locks", view.locks),
            ("sleeves", view.sleeves),
            ("apm targets", view.apm_targets),
            ("sleeve positions", view.sleeve_positions),
        ):
            if not rows:
                typer.echo(f"{title}: none")
                continue
            table = Table(*rows[0].keys(), title=title)
            for row in rows:
                table.add_row(*(_text(v) for v in row.values()))
            _print(table, None)
