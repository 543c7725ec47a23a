"""Shared fixtures: every storage and REST test runs on SQLite and on PostgreSQL.

PostgreSQL is found at EMBER_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/);
one throwaway database is created per test run and dropped at the end. If it cannot
be reached the run fails at once, saying how to start it. EMBER_TEST_BACKENDS=sqlite
restricts a local run to SQLite explicitly (CI never sets it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from ember.api.app import create_app
from ember.config import Settings

POSTGRES_URL = os.environ.get("EMBER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")
BACKENDS = [
    b.strip() for b in os.environ.get("EMBER_TEST_BACKENDS", "sqlite,postgresql").split(",")
]
_START_HINT = (
    "PostgreSQL is expected at {url} but cannot be reached ({error}).\n"
    "Start it (Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)\n"
    "or point EMBER_TEST_POSTGRES_URL at a server where user postgres may create databases."
)


def _admin_url() -> str:
    return POSTGRES_URL.rstrip("/") + "/postgres"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    name = f"ember_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(_admin_url(), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.exit(_START_HINT.format(url=POSTGRES_URL, error=error), returncode=3)
    yield POSTGRES_URL.rstrip("/") + f"/{name}"
    with psycopg.connect(_admin_url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(url: str) -> None:
    """Empty every table of the schema (it is kept, so migrations run once per run)."""
    with psycopg.connect(url, autocommit=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_version'"
            )
        ]
        if tables:
            names = ", ".join(f'"{t}"' for t in tables)
            connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ember.db"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _empty_postgres(url)
        return url
    raise ValueError(f"unknown backend {request.param!r} in EMBER_TEST_BACKENDS")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client
