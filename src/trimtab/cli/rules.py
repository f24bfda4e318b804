"""Trade restriction and lock commands: ``trimtab restriction ...`` and ``trimtab lock ...``.

Restrictions are added whole, edited only in their end date and end action, and removed
(docs/rules.md, docs/service.md); locks are added and removed. Every change is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from trimtab.cli._common import At, Db, Firm, User, fail, moment, parse_date, run_in, show


def _restriction_fields(
    *,
    type: str,
    symbol: str | None,
    substitute: str | None,
    behaviour: str | None,
    replacement: str | None,
    member: list[str] | None,
    start_date: str | None,
    end_date: str | None,
    end_action: str | None,
) -> dict[str, Any]:
    """The command's options as the fields of a restriction (docs/rules.md)."""
    fields: dict[str, Any] = {"type": type}
    if type == "equivalents":
        members = []
        for m in member or []:
            name, _, how = m.partition(":")
            members.append({"symbol": name, "behaviour": how or "none"})
        fields["members"] = members
    else:
        fields["symbol"] = symbol
        fields["behaviour"] = behaviour
    for name, value in (
        ("substitute", substitute),
        ("replacement", replacement),
        ("end_action", end_action),
    ):
        if value is not None:
            fields[name] = value
    if start_date is not None:
        fields["start_date"] = parse_date(start_date, "--start-date")
    if end_date is not None:
        fields["end_date"] = parse_date(end_date, "--end-date")
    return fields


def register(app: typer.Typer) -> None:
    """Add the restriction and lock commands to ``app``."""
    restriction_app = typer.Typer(help="Trade restrictions of an account.", no_args_is_help=True)
    lock_app = typer.Typer(help="Locks of an account.", no_args_is_help=True)
    app.add_typer(restriction_app, name="restriction")
    app.add_typer(lock_app, name="lock")

    @restriction_app.command("list")
    def restriction_list(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        user: User,
        db: Db = None,
    ) -> None:
        """The account's restrictions."""
        from trimtab.io.rules import EquivalentsIn
        from trimtab.service.restrictions import list_restrictions

        found = run_in(
            db, firm, lambda uow: list_restrictions(uow, actor=user, account_id=account_id)
        )
        table = Table("id", "type", "securities", "behaviour", "start", "end", "at the end")
        for s in found:
            r = s.restriction
            if isinstance(r, EquivalentsIn):
                named = ", ".join(f"{m.symbol} ({m.behaviour})" for m in r.members)
                how, action = "", ""
            else:
                named = r.symbol + (f" -> {r.substitute}" if r.type == "substitution" else "")
                how = r.behaviour + (f", {r.replacement}" if r.type == "exclusion" else "")
                action = r.end_action or ""
            start = "" if r.start_date is None else r.start_date.isoformat()
            end = "" if r.end_date is None else r.end_date.isoformat()
            table.add_row(s.restriction_id, r.type, named, how, start, end, action)
        show(table, f"{len(found)} restrictions")

    @restriction_app.command("add")
    def restriction_add(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        user: User,
        type: Annotated[str, typer.Option(help="exclusion, substitution or equivalents.")],
        symbol: Annotated[str | None, typer.Option(help="The security restricted.")] = None,
        substitute: Annotated[str | None, typer.Option(help="A substitution's security.")] = None,
        behaviour: Annotated[
            str | None, typer.Option(help="hold, liquidate_immediately or liquidate_as_needed.")
        ] = None,
        replacement: Annotated[
            str | None, typer.Option(help="An exclusion's: hold_cash or reallocate.")
        ] = None,
        member: Annotated[
            list[str] | None,
            typer.Option(help="A group member SYMBOL[:behaviour] (repeat: 1 to 20 members)."),
        ] = None,
        start_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD.")] = None,
        end_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD (optional).")] = None,
        end_action: Annotated[
            str | None,
            typer.Option(help="With an end date: rebalance_immediately or wait_for_weight_change."),
        ] = None,
        restriction_id: Annotated[
            str | None, typer.Option("--id", help="Its id (default R1, R2, ...).")
        ] = None,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Add a restriction to an account; a security already in another restriction is
        refused, naming it."""
        from trimtab.service.restrictions import add_restriction, parse_restriction

        fields = _restriction_fields(
            type=type,
            symbol=symbol,
            substitute=substitute,
            behaviour=behaviour,
            replacement=replacement,
            member=member,
            start_date=start_date,
            end_date=end_date,
            end_action=end_action,
        )
        new = run_in(
            db,
            firm,
            lambda uow: add_restriction(
                uow,
                actor=user,
                account_id=account_id,
                restriction=parse_restriction(fields),
                now=moment(at),
                restriction_id=restriction_id,
            ),
        )
        typer.echo(f"account {account_id}: restriction {new} added")

    @restriction_app.command("edit")
    def restriction_edit(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        restriction_id: Annotated[str, typer.Argument(help="Restriction id.")],
        firm: Firm,
        user: User,
        end_date: Annotated[
            str | None, typer.Option(help="New end date, YYYY-MM-DD (omit: none).")
        ] = None,
        end_action: Annotated[
            str | None, typer.Option(help="rebalance_immediately or wait_for_weight_change.")
        ] = None,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Change a restriction's end date and end action (the only fields that change)."""
        from trimtab.service.restrictions import edit_restriction

        if end_action not in (None, "rebalance_immediately", "wait_for_weight_change"):
            raise fail(
                "--end-action: must be rebalance_immediately or wait_for_weight_change, "
                f"got {end_action!r}"
            )
        end = parse_date(end_date, "--end-date") if end_date else None
        run_in(
            db,
            firm,
            lambda uow: edit_restriction(
                uow,
                actor=user,
                account_id=account_id,
                restriction_id=restriction_id,
                end_date=end,
                end_action=end_action,  # type: ignore[arg-type]
                now=moment(at),
            ),
        )
        typer.echo(f"account {account_id}: restriction {restriction_id} ends {end or 'never'}")

    @restriction_app.command("remove")
    def restriction_remove(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        restriction_id: Annotated[str, typer.Argument(help="Restriction id.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Delete a restriction of an account."""
        from trimtab.service.restrictions import remove_restriction

        run_in(
            db,
            firm,
            lambda uow: remove_restriction(
                uow,
                actor=user,
                account_id=account_id,
                restriction_id=restriction_id,
                now=moment(at),
            ),
        )
        typer.echo(f"account {account_id}: restriction {restriction_id} removed")

    @lock_app.command("list")
    def lock_list(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        user: User,
        db: Db = None,
    ) -> None:
        """The account's locks."""
        from trimtab.service.restrictions import list_locks

        found = run_in(db, firm, lambda uow: list_locks(uow, actor=user, account_id=account_id))
        table = Table("type", "security")
        for lock in found:
            table.add_row(lock.type, lock.symbol or "(whole account)")
        show(table, f"{len(found)} locks")

    @lock_app.command("add")
    def lock_add(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        user: User,
        type: Annotated[str, typer.Option(help="gain, elective or cost_basis_unlock.")],
        symbol: Annotated[
            str | None, typer.Option(help="The security (a gain lock without: whole account).")
        ] = None,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Lock a security of an account (or the whole account's gains)."""
        from trimtab.service.restrictions import add_lock

        run_in(
            db,
            firm,
            lambda uow: add_lock(
                uow,
                actor=user,
                account_id=account_id,
                type=type,  # type: ignore[arg-type]
                symbol=symbol,
                now=moment(at),
            ),
        )
        typer.echo(f"account {account_id}: {type} lock on {symbol or 'the account'} added")

    @lock_app.command("remove")
    def lock_remove(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        user: User,
        type: Annotated[str, typer.Option(help="gain, elective or cost_basis_unlock.")],
        symbol: Annotated[str | None, typer.Option(help="The security.")] = None,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Remove a lock of an account."""
        from trimtab.service.restrictions import remove_lock

        run_in(
            db,
            firm,
            lambda uow: remove_lock(
                uow, actor=user, account_id=account_id, type=type, symbol=symbol, now=moment(at)
            ),
        )
        typer.echo(f"account {account_id}: {type} lock on {symbol or 'the account'} removed")
