"""The ``trimtab`` command line. Entry points only: parse, call, print; errors become exit codes.

Exit status: 0 success (and part success), 1 a failed proposal, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from trimtab.errors import InputError, TrimtabError
from trimtab.runtime import keep_freed_memory, one_blas_thread

app = typer.Typer(
    name="trimtab",
    help="Rebalancing and trade generation for wealth managers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root() -> None:
    """trimtab: rebalancing and trade generation for wealth managers."""


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line to standard error and return the exit to raise."""
    sys.stderr.write(f"trimtab: {message}\n")
    return typer.Exit(code)


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(source, "no such file") from None
    except (IsADirectoryError, UnicodeDecodeError) as err:
        raise InputError(source, f"cannot read: {err}") from None


@app.command()
def propose(
    source: Annotated[str, typer.Argument(help="Scenario JSON file, or - for standard input.")],
    fmt: Annotated[str, typer.Option("--format", help="json or table.")] = "json",
    compare: Annotated[
        bool, typer.Option("--compare", help="Compare the full-rebalance logics (JSON).")
    ] = False,
) -> None:
    """Propose trades for one scenario (proposal-format.md)."""
    from trimtab.io.propose import compare_scenario, run_scenario

    if fmt not in ("json", "table"):
        raise fail(f"--format: must be json or table, got {fmt!r}")
    if compare:
        try:
            report = compare_scenario(_read_text(source))
        except InputError as err:
            raise fail(str(err)) from None
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        raise typer.Exit(0)
    try:
        document = run_scenario(_read_text(source))
    except InputError as err:
        raise fail(str(err)) from None
    if fmt == "json":
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        from trimtab.tables import print_proposal

        print_proposal(document)
    raise typer.Exit(1 if document["status"] == "failed" else 0)


BOOK_COMMANDS = frozenset(
    {"propose", "drift", "propose-book", "demo-book", "compare-book", "backtest", "demo-prices"}
)
"""Commands that need no database: the service commands (SQLAlchemy, Alembic) are not
imported for them, which keeps batch runs quick to start."""

_registered: set[str] = set()


def _register_more(argv: list[str] | None = None) -> None:
    """Commands defined in their own modules (once per process)."""
    args = sys.argv[1:] if argv is None else argv
    command = next((a for a in args if not a.startswith("-")), None)
    if "book" not in _registered:
        from trimtab.cli import book, whatif

        book.register(app)
        whatif.register(app)
        _registered.add("book")
    if "backtest" not in _registered:
        from trimtab.cli import backtest

        backtest.register(app)
        _registered.add("backtest")
    if command not in BOOK_COMMANDS and "service" not in _registered:
        from trimtab.cli import accounts, audit, daily, orders, requests, rules, serve, setup

        for module in (setup, daily, requests, orders, accounts, rules, audit, serve):
            module.register(app)
        _registered.add("service")


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    one_blas_thread()
    _register_more(argv)
    keep_freed_memory()
    try:
        return app(args=argv)
    except TrimtabError as err:  # pragma: no cover - commands catch their own
        raise SystemExit(fail(str(err)).exit_code) from None


if __name__ == "__main__":
    main()
