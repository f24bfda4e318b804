"""Audit commands: ``trimtab audit`` lists entries, ``trimtab audit verify`` checks the hash
chain; ``trimtab db service-role`` sets up the least-privilege PostgreSQL role.

Exit status: 0 success (a chain that holds), 2 bad input or a broken chain.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from trimtab.cli._common import Db, Firm, database, fail, parse_date, run_in, show
from trimtab.settings import ENV


def register(app: typer.Typer) -> None:
    """Add the audit commands to ``app`` (after the service commands)."""
    audit_app = typer.Typer(
        help="The audit trail: list entries, verify the hash chain.",
        invoke_without_command=True,
    )
    app.add_typer(audit_app, name="audit")

    @audit_app.callback()
    def audit(
        ctx: typer.Context,
        firm: Annotated[
            str | None, typer.Option("--firm", envvar=ENV["firm"], help="Firm id.")
        ] = None,
        db: Db = None,
        actor: Annotated[str | None, typer.Option(help="Only this user's entries.")] = None,
        action: Annotated[
            str | None, typer.Option(help="Only this action (submit, approve, refused, ...).")
        ] = None,
        entity: Annotated[str | None, typer.Option(help="Only this entity (request, ...).")] = None,
        entity_id: Annotated[str | None, typer.Option(help="Only this entity id.")] = None,
        since: Annotated[str | None, typer.Option(help="From this UTC date, YYYY-MM-DD.")] = None,
        until: Annotated[
            str | None, typer.Option(help="Up to this UTC date (included), YYYY-MM-DD.")
        ] = None,
        limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 100,
    ) -> None:
        """Audit entries, newest first (filters combine)."""
        if ctx.invoked_subcommand is not None:
            return
        if firm is None:
            raise fail("--firm: give the firm (or set TRIMTAB_FIRM)")
        from trimtab.service.audit import list_audit

        first = parse_date(since, "--since") if since else None
        last = parse_date(until, "--until") if until else None
        rows = run_in(
            db,
            firm,
            lambda uow: list_audit(
                uow,
                actor=actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                since=first,
                until=last,
                limit=limit,
            ),
        )
        table = Table("id", "at (UTC)", "actor", "action", "entity", "id of entity", "after")
        for r in rows:
            table.add_row(
                str(r.audit_id),
                f"{r.at:%Y-%m-%d %H:%M:%S}",
                r.actor,
                r.action,
                r.entity,
                r.entity_id,
                (r.after or "")[:80],
            )
        show(table, f"{len(rows)} entries")

    @audit_app.command("verify")
    def verify(firm: Firm, db: Db = None) -> None:
        """Recompute the firm's audit hash chain; exit 2 naming the first break."""
        from trimtab.service.audit import verify_chain

        found = run_in(db, firm, verify_chain)
        legacy = f" ({found.unchained} older entries carry no hash)" if found.unchained else ""
        if not found.intact:
            raise fail(f"audit chain of {firm} broken: {found.problems[0]}")
        typer.echo(f"audit chain of {firm} intact: {found.entries} entries{legacy}")

    db_app = next(g.typer_instance for g in app.registered_groups if g.name == "db")
    assert db_app is not None

    @db_app.command("service-role")
    def service_role(
        role: Annotated[str, typer.Argument(help="The role the service connects as.")],
        db: Db = None,
        schema: Annotated[str, typer.Option(help="The schema of trimtab's tables.")] = "public",
        show: Annotated[
            bool, typer.Option("--print", help="Print the SQL instead of running it.")
        ] = False,
    ) -> None:
        """Create (if missing) and grant the service's least-privilege PostgreSQL role."""
        from trimtab.store.roles import grant_service_role, service_role_sql

        try:
            statements = service_role_sql(role, schema)
        except ValueError as err:
            raise fail(f"service-role: {err}") from None
        if show:
            typer.echo(";\n".join(statements) + ";")
            return
        with database(db) as engine:
            if engine.dialect.name != "postgresql":
                raise fail("--db: roles are for PostgreSQL; SQLite has none")
            grant_service_role(engine, role, schema)
        typer.echo(f"role {role} may read and write rows in {schema}; audit_log: append only")
