"""Setting up: ``trimtab db upgrade``, ``firm add``, ``user add``."""

from __future__ import annotations

from typing import Annotated

import typer

from trimtab.cli._common import (
    At,
    Db,
    Firm,
    User,
    database,
    group,
    moment,
    run_in,
)


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    db_app = group(app, "db", "The database.")
    firm_app = group(app, "firm", "Firms.")
    user_app = group(app, "user", "Users and roles.")

    @db_app.command("upgrade")
    def db_upgrade(db: Db = None) -> None:
        """Create or migrate the database schema to the newest version."""
        from trimtab.store.migrate import current_revision

        with database(db, create=True) as engine:
            typer.echo(f"schema at revision {current_revision(engine)}")

    @firm_app.command("add")
    def firm_add(
        firm: Firm,
        admin: Annotated[str, typer.Option(help="Id of the firm's first user (admin).")],
        name: Annotated[str | None, typer.Option(help="Display name.")] = None,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Create a firm and its first admin user."""
        from trimtab.service.access import add_firm

        run_in(
            db, firm, lambda uow: add_firm(uow, name=name or firm, admin_id=admin, now=moment(at))
        )
        typer.echo(f"firm {firm} created with admin {admin}")

    @user_app.command("add")
    def user_add(
        user_id: Annotated[str, typer.Argument(help="The new user's id.")],
        role: Annotated[str, typer.Option(help="operator, approver or admin.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Add a user with a role (needs the admin role)."""
        from trimtab.service.access import add_user

        run_in(
            db,
            firm,
            lambda uow: add_user(uow, actor=user, user_id=user_id, role=role, now=moment(at)),
        )
        typer.echo(f"user {user_id} added as {role}")
