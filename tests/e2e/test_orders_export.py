"""Orders export that never loses the only copy, and approvals that say what they ordered.

The tiny book (tests.factories): rebalancing ACC1 to target buys 12 A and 10 B: two orders.
Approved at 08:00 Chicago time on Friday 20 November 2026, they trade that day.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.factories import tiny_book
from trimtab import cli

if not any(c.name == "import" for c in cli.app.registered_commands):
    cli._register_more()

AT = "2026-11-20T14:00:00+00:00"
HEADER = "client_order_id,trade_date,best_effort,account_id,symbol,side,quantity,price,request_id"


def invoke(db: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli.app, [*args, "--db", db, "--firm", "acme"])
    assert result.exit_code == code, (args, result.output)
    return result.output


def approved(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    CliRunner().invoke(cli.app, ["db", "upgrade", "--db", db])
    invoke(db, "firm", "add", "--admin", "alice")
    invoke(db, "user", "add", "amy", "--role", "approver", "--user", "alice")
    book = tiny_book(tmp_path / "book")
    invoke(db, "import", str(book), "--date", "2026-11-19", "--user", "alice")
    invoke(
        db, "request", "submit", "--accounts", "ACC1", "--logic", "rebalance_to_target",
        "--user", "alice", "--at", AT,
    )  # fmt: skip
    out = invoke(db, "request", "approve", "1", "--user", "amy", "--at", AT)
    assert out.strip() == "request 1: complete; 2 orders trading 2026-11-20"
    return db


def export(db: str, *args: str, code: int = 0) -> str:
    return invoke(db, "orders", "export", "--user", "alice", "--at", AT, *args, code=code)


def test_a_second_export_never_overwrites_the_first(tmp_path: Path) -> None:
    db = approved(tmp_path)
    out = tmp_path / "orders.csv"
    said = export(db, "--date", "2026-11-20", "--out", str(out))
    assert f"exported 2 orders trading 2026-11-20 as csv to {out}: export 1" in said
    first = out.read_text()
    assert first.splitlines() == [
        HEADER,
        "TT1-0001,2026-11-20,false,ACC1,A,buy,12,50,1",
        "TT1-0002,2026-11-20,false,ACC1,B,buy,10,40,1",
    ]
    refused = export(db, "--date", "2026-11-20", "--out", str(out), code=2)
    assert f"--out: {out} exists; pass --force to overwrite it" in refused
    said = export(db, "--date", "2026-11-20", "--out", str(out), "--force")
    assert "nothing written: all 2 orders of 2026-11-20 were exported as csv already" in said
    assert out.read_text() == first  # before: overwritten with a bare header
    again = tmp_path / "again.csv"
    said = export(db, "--date", "2026-11-20", "--out", str(again), "--all")
    assert "exported 2 orders trading 2026-11-20 as csv (all, again)" in said
    assert again.read_text() == first
    batch = tmp_path / "batch.csv"
    said = export(db, "--batch", "1", "--out", str(batch))
    assert "exported 2 orders trading 2026-11-20 as csv (export 1 again)" in said
    assert batch.read_text() == first
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    # firm, user, import, submit, propose, approve, then three exports: nine chained entries
    assert invoke(db, "audit", "verify").strip() == "audit chain of acme intact: 9 entries"
    listed = invoke(db, "audit", "--action", "reexport", "--limit", "1")
    assert "1 entries" in listed


def test_nothing_to_export_and_a_missing_folder_are_said(tmp_path: Path) -> None:
    db = approved(tmp_path)
    said = export(db, "--date", "2026-11-23", "--out", str(tmp_path / "none.csv"))
    assert "nothing written: no orders trade on 2026-11-23" in said
    assert not (tmp_path / "none.csv").exists()
    missing = tmp_path / "no" / "such" / "orders.csv"
    refused = export(db, "--date", "2026-11-20", "--out", str(missing), code=2)
    assert f"--out: folder {missing.parent} does not exist" in refused
    refused = export(db, "--batch", "9", code=2)
    assert "--batch: no export 9 of new orders in firm 'acme'" in refused


def test_service_role_sql_is_printed_and_names_are_checked() -> None:
    result = CliRunner().invoke(cli.app, ["db", "service-role", "trimtab_service", "--print"])
    assert result.exit_code == 0, result.output
    assert 'REVOKE UPDATE, DELETE ON "public".audit_log FROM "trimtab_service";' in result.output
    assert "TRUNCATE" in result.output and "GRANT TRUNCATE" not in result.output
    bad = CliRunner().invoke(cli.app, ["db", "service-role", "x; DROP TABLE y", "--print"])
    assert bad.exit_code == 2
    assert "service-role: role name must be lower-case letters, digits, _" in bad.output
