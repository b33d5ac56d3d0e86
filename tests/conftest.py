"""Test configuration: every conformance test runs on each selected database.

``--dialect`` (repeatable) chooses among sqlite, postgresql and mariadb; the
default is all three, and a database that cannot be reached fails the run.
Server URLs default to the local test servers and can be overridden with
DRIP_TEST_POSTGRES_URL and DRIP_TEST_MARIADB_URL.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
def drip_url(drip_dialect: str, tmp_path: Path) -> str:
    """A database URL for one dialect; SQLite gets a fresh file per test."""
    if drip_dialect == "sqlite":
        return f"sqlite:///{tmp_path / 'drip.sqlite3'}"
    return SERVER_URLS[drip_dialect]
