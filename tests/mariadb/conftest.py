"""Fixtures for MariaDB-only tests: a migrated client and a private queue."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from drip import Client

MARIADB_URL = os.environ.get(
    "DRIP_TEST_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test"
)


@pytest.fixture
def maria_client(request: pytest.FixtureRequest) -> Iterator[Client]:
    chosen = request.config.getoption("dialect")
    if chosen and "mariadb" not in chosen:
        pytest.skip("MariaDB was not selected with --dialect")
    client = Client(MARIADB_URL)
    client.migrate()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def maria_queue(maria_client: Client) -> Iterator[str]:
    """A queue name no other test uses; its jobs are deleted afterwards."""
    queue = f"maria-{uuid.uuid4().hex[:10]}"
    yield queue
    job = maria_client.dialect.tables.job
    with maria_client.transaction() as connection:
        connection.execute(sa.delete(job).where(job.c.queue == queue))
