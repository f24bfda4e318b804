"""The web app and API: ``trimtab serve``; passwords (``user password``) and API keys."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from trimtab.cli._common import At, Db, Firm, User, database, fail, group, moment, run_in


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    first = typer.prompt("New password", hide_input=True)
    again = typer.prompt("Again", hide_input=True)
    if first != again:
        raise fail("the two passwords differ")
    return str(first)


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    user_app = group(app, "user", "Users and roles.")
    key_app = group(app, "apikey", "API keys: programs' access to the REST API.")

    @app.command()
    def serve(
        db: Db = None,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        secure_cookies: Annotated[
            bool | None,
            typer.Option(
                "--secure-cookies/--no-secure-cookies",
                help="Mark the session cookie Secure (default: unless on localhost).",
            ),
        ] = None,
    ) -> None:
        """Serve the web app at / and the REST API at /api/v1 (docs at /api/v1/docs)."""
        import uvicorn

        from trimtab.web import create_app

        with database(db) as engine:
            web = create_app(engine=engine, secure_cookies=secure_cookies)
            typer.echo(f"trimtab: serving on http://{host}:{port}/ (API at /api/v1)")
            uvicorn.run(web, host=host, port=port, log_level="warning")

    @user_app.command("password")
    def user_password(
        user_id: Annotated[str, typer.Argument(help="Whose password to set.")],
        firm: Firm,
        user: User,
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Read the password from standard input.")
        ] = False,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Set a user's password for the web app (an admin, or the user themself)."""
        from trimtab.service.credentials import set_password

        password = _password(password_stdin)
        run_in(
            db,
            firm,
            lambda uow: set_password(
                uow, actor=user, user_id=user_id, password=password, now=moment(at)
            ),
        )
        typer.echo(f"password of {user_id} set")

    @key_app.command("add")
    def apikey_add(
        name: Annotated[str, typer.Argument(help="The key's name; it acts as user key:NAME.")],
        role: Annotated[str, typer.Option(help="viewer, operator, approver or admin.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Add an API key (admin); its token is printed once and never stored."""
        from trimtab.service.credentials import add_api_key

        token = run_in(
            db,
            firm,
            lambda uow: add_api_key(uow, actor=user, name=name, role=role, now=moment(at)),
        )
        typer.echo(token)

    @key_app.command("revoke")
    def apikey_revoke(
        key_id: Annotated[str, typer.Argument(help="The key id (the part after ttk_).")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Revoke an API key (admin): it stops working at once."""
        from trimtab.service.credentials import revoke_api_key

        run_in(db, firm, lambda uow: revoke_api_key(uow, actor=user, key_id=key_id, now=moment(at)))
        typer.echo(f"API key {key_id} revoked")
