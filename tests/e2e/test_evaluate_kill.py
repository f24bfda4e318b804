"""``kill -9`` in the middle of an evaluation: the run is not left "running" for a dead
process; ``queue`` says the evaluation is incomplete; the next ``evaluate`` takes it over at
once (the lease's owner, of this host, is gone) and finishes it (SQLite file)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from trimtab import cli

if not any(c.name == "import" for c in cli.app.registered_commands):
    cli._register_more()


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_killed_evaluation_is_taken_over_at_once(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    db = ["--db", f"sqlite:///{path}", "--firm", "acme"]
    invoke("db", "upgrade", "--db", f"sqlite:///{path}")
    invoke("firm", "add", "--admin", "olga", *db)
    book = tmp_path / "book"
    invoke("demo-book", str(book), "--accounts", "1500", "--securities", "30", "--models", "3")
    invoke("import", str(book), "--date", "2026-11-19", "--user", "olga", *db)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-m", "trimtab", "evaluate", "--date", "2026-11-20", "--user", "olga",
         "--chunk", "1", *db],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        written = 0
        while written < 5 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
            with sqlite3.connect(path, timeout=30) as conn:
                written = conn.execute("SELECT count(*) FROM evaluations").fetchone()[0]
        assert child.poll() is None, "the evaluation finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with sqlite3.connect(path) as conn:
        stored = conn.execute("SELECT count(*) FROM evaluations").fetchone()[0]
        status = conn.execute("SELECT status FROM evaluation_runs").fetchone()[0]
    assert 5 <= stored < 1500 and status == "running"
    said = invoke("queue", "--user", "olga", *db, code=2)
    assert "the evaluation of 2026-11-20 is incomplete (interrupted)" in said
    said = invoke("evaluate", "--date", "2026-11-20", "--user", "olga", *db).strip()
    assert said.startswith("resumed and evaluated ")
    evaluated = int(said.split()[3])
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT status, lease_owner FROM evaluation_runs").fetchone() == (
            "complete",
            None,
        )
        active = conn.execute(
            "SELECT count(*) FROM account_days WHERE rebalancing AND model_id IS NOT NULL"
        ).fetchone()[0]
        assert conn.execute("SELECT count(*) FROM evaluations").fetchone()[0] == evaluated
    assert stored < evaluated == active
    assert "accounts in the queue" in invoke("queue", "--user", "olga", *db)
