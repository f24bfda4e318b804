"""Account settings: ``trimtab account set|history|show``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from trimtab.cli._common import (
    At,
    Db,
    Firm,
    User,
    fail,
    group,
    moment,
    number,
    parse_date,
    run_in,
    show,
)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return number(value)
    return str(value)


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    account_app = group(app, "account", "Account settings.")

    @account_app.command("set")
    def account_set(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        user: User,
        rebalancing: Annotated[
            bool | None, typer.Option("--rebalancing/--no-rebalancing", help="The switch.")
        ] = None,
        hold: Annotated[
            bool | None, typer.Option("--hold/--no-hold", help="Trade hold on or off.")
        ] = None,
        hold_until: Annotated[
            str | None, typer.Option(help="With --hold: last day of the hold, YYYY-MM-DD.")
        ] = None,
        lot_method: Annotated[
            str | None, typer.Option(help="fifo, lifo, hifo or minimum_tax.")
        ] = None,
        drift: Annotated[
            list[str] | None,
            typer.Option("--set", help="Drift parameter NAME=VALUE (see docs/service.md)."),
        ] = None,
        held_away: Annotated[
            bool | None,
            typer.Option(
                "--held-away/--managed",
                help="Held away: never traded, its trades count for household wash sales.",
            ),
        ] = None,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Change an account's rebalancing switch, trade hold, lot method, drift parameters
        or held-away flag."""
        from trimtab.errors import InputError
        from trimtab.service.accounts import AccountChange, parse_drift, update_account

        try:
            params = parse_drift(drift or [])
        except InputError as err:
            raise fail(str(err)) from None
        change = AccountChange(
            rebalancing=rebalancing,
            trade_hold=hold,
            hold_until=parse_date(hold_until, "--hold-until") if hold_until else None,
            lot_method=lot_method,
            drift=params,
            held_away=held_away,
        )
        after = run_in(
            db,
            firm,
            lambda uow: update_account(
                uow, actor=user, account_id=account_id, change=change, now=moment(at)
            ),
        )
        shown = ", ".join(f"{k} {number(v)}" for k, v in after.items())
        typer.echo(f"account {account_id}: {shown}")

    @account_app.command("history")
    def account_history(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        user: User,
        db: Db = None,
    ) -> None:
        """The account's rebalancing switch history."""
        from trimtab.service.accounts import switch_history

        changes = run_in(
            db, firm, lambda uow: switch_history(uow, actor=user, account_id=account_id)
        )
        table = Table("effective", "rebalancing", "changed by", "at (UTC)")
        for change in changes:
            table.add_row(
                change.effective.isoformat(),
                "on" if change.rebalancing else "off",
                change.changed_by,
                f"{change.changed_at:%Y-%m-%d %H:%M}",
            )
        show(table, None)

    @account_app.command("show")
    def account_show(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        user: User,
        db: Db = None,
    ) -> None:
        """An account's settings, target, restrictions, locks and holdings (newest book)."""
        from trimtab.service.account_view import show_account

        view = run_in(db, firm, lambda uow: show_account(uow, actor=user, account_id=account_id))
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
            show(target, None)
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
        show(holdings, None)
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
            show(table, None)
