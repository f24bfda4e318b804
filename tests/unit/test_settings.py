"""Settings from the environment (``TRIMTAB_*``), in one place."""

from __future__ import annotations

import dataclasses

import pytest

from trimtab.settings import DEFAULT_DATABASE_URL, Settings
from trimtab.store.migrate import database_url

VARIABLES = ("TRIMTAB_DATABASE_URL", "TRIMTAB_FIRM", "TRIMTAB_USER")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_when_nothing_is_set(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env()
    assert settings == Settings(database_url="sqlite:///trimtab.db", firm=None, user=None)
    assert DEFAULT_DATABASE_URL == "sqlite:///trimtab.db"


def test_every_variable_is_read(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TRIMTAB_DATABASE_URL", "postgresql+psycopg://ops@db:5432/trimtab")
    clean_env.setenv("TRIMTAB_FIRM", "acme")
    clean_env.setenv("TRIMTAB_USER", "olga")
    assert Settings.from_env() == Settings(
        database_url="postgresql+psycopg://ops@db:5432/trimtab", firm="acme", user="olga"
    )


def test_empty_variables_take_their_defaults(clean_env: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        clean_env.setenv(name, "")
    assert Settings.from_env() == Settings()


def test_an_explicit_mapping_instead_of_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TRIMTAB_FIRM", "from-env")
    assert Settings.from_env({"TRIMTAB_FIRM": "given"}).firm == "given"
    assert Settings.from_env({}).firm is None


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().firm = "acme"  # type: ignore[misc]


def test_migrate_takes_its_default_url_from_the_settings(clean_env: pytest.MonkeyPatch) -> None:
    assert database_url() == "sqlite:///trimtab.db"
    clean_env.setenv("TRIMTAB_DATABASE_URL", "sqlite:///elsewhere.db")
    assert database_url() == "sqlite:///elsewhere.db"
    assert database_url("sqlite:///given.db") == "sqlite:///given.db"
