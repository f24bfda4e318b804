"""docs/service.md's ``sh`` examples run as written, in order, on a fresh database.

Each line of a ``sh`` block is a ``trimtab`` command (run through the CLI, expected to exit
0) or ``export NAME=value``; a comment after ``#`` is ignored. Nothing is substituted: the
commands work in an empty folder with ``./trimtab.db``, or with ``TRIMTAB_DATABASE_URL``
set to a fresh PostgreSQL schema.
"""

from __future__ import annotations

import re
import shlex
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.factories import POSTGRES_URL
from trimtab import cli

if not any(c.name == "import" for c in cli.app.registered_commands):
    cli._register_more()

DOC = Path(__file__).parents[2] / "docs" / "service.md"


def commands() -> list[str]:
    """The lines of the doc's ``sh`` blocks, in order, comments removed."""
    blocks = re.findall(r"^```sh\n(.*?)^```$", DOC.read_text(), flags=re.M | re.S)
    lines = [line.split(" #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    for name in ("TRIMTAB_DATABASE_URL", "TRIMTAB_FIRM", "TRIMTAB_USER"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "sqlite":
        yield
        return
    if not POSTGRES_URL:
        pytest.skip("TRIMTAB_TEST_POSTGRES_URL is not set")
    schema = f"tt_doc_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    monkeypatch.setenv(
        "TRIMTAB_DATABASE_URL", f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    )
    try:
        yield
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_the_walkthrough_runs_as_written(
    fresh: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = commands()
    assert len(lines) >= 25
    outputs = []
    for line in lines:
        words = shlex.split(line)
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            monkeypatch.setenv(name, value)
            continue
        assert words[0] == "trimtab", line
        result = CliRunner().invoke(cli.app, words[1:])
        assert result.exit_code == 0, (line, result.output)
        outputs.append(result.output)
    said = "\n".join(outputs)
    # the walk-through's own story, worked out from the commands: request 1 is approved,
    # request 2 cancelled, ACC0000003 (on hold) fails in request 3 and again in request 4
    assert "request 1: complete;" in said
    assert "request 2: canceled" in said
    assert "request 3 failed" in said and "request 4 failed" in said
    assert "audit chain of acme intact" in said
    assert (tmp_path / "orders.csv").read_text() == (tmp_path / "orders-again.csv").read_text()
