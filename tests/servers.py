"""Clients for the tests that concern one database server only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from drip import Client

NAMES = {"postgresql": "PostgreSQL", "mariadb": "MariaDB"}


def server_client(request: pytest.FixtureRequest, dialect: str) -> Iterator[Client]:
    """A migrated client on this session's database of ``dialect``.

    Skipped when ``--dialect`` leaves ``dialect`` out; never when the server
    cannot be reached, which fails instead.
    """
    chosen = request.config.getoption("dialect")
    if chosen and dialect not in chosen:
        pytest.skip(f"{NAMES[dialect]} was not selected with --dialect")
    client = Client(request.getfixturevalue(f"{dialect}_url"))
    client.migrate()
    try:
        yield client
    finally:
        client.close()


def private_queue(client: Client, prefix: str) -> Iterator[str]:
    """A queue name no other test uses; its jobs are deleted afterwards."""
    queue = f"{prefix}-{uuid.uuid4().hex[:10]}"
    yield queue
    job = client.dialect.tables.job
    with client.transaction() as connection:
        connection.execute(sa.delete(job).where(job.c.queue == queue))


def server_reporting(
    version: tuple[object, ...], *, mariadb: bool = False
) -> sa.Connection:
    """A stand-in connection whose server reports ``version``, for version checks."""
    dialect = SimpleNamespace(server_version_info=version, is_mariadb=mariadb)
    return SimpleNamespace(dialect=dialect)  # type: ignore[return-value]
