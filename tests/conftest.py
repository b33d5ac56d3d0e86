"""Test configuration: every conformance test runs on each selected database.

``--dialect`` (repeatable) chooses among sqlite, postgresql and mariadb; the
default is all three, and a database that cannot be reached fails the run.
Server URLs default to the local test servers and can be overridden with
DRIP_TEST_POSTGRES_URL and DRIP_TEST_MARIADB_URL. Each test session creates a
database of its own on each server (and drops it at the end), so that two
runs on one machine never empty each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from drip.testing.conformance.fixtures import anyio_backend, client, statements

__all__ = ["anyio_backend", "client", "statements"]

SERVER_URLS = {
    "postgresql": os.environ.get(
        "DRIP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get(
        "DRIP_TEST_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test"
    ),
}
DIALECTS = ("sqlite", "postgresql", "mariadb")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--dialect",
        action="append",
        choices=DIALECTS,
        help="run database tests on this dialect only (repeatable; default: all)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "drip_dialect" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("dialect") or list(DIALECTS)
        metafunc.parametrize("drip_dialect", chosen, scope="session")


@pytest.fixture
def drip_url(drip_dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database URL for one dialect; SQLite gets a fresh file per test."""
    if drip_dialect == "sqlite":
        return f"sqlite:///{tmp_path / 'drip.sqlite3'}"
    return request.getfixturevalue(f"{drip_dialect}_url")


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A PostgreSQL database created for this test session."""
    yield from _session_database(SERVER_URLS["postgresql"])


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """A MariaDB database created for this test session."""
    yield from _session_database(SERVER_URLS["mariadb"])


def _session_database(server_url: str) -> Iterator[str]:
    """Create a uniquely named database on the server; drop it afterwards."""
    base = sa.make_url(server_url)
    name = f"drip_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    quoted = engine.dialect.identifier_preparer.quote(name)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        force = " WITH (FORCE)" if base.get_backend_name() == "postgresql" else ""
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}{force}")
        engine.dispose()
