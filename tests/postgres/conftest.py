"""Fixtures for PostgreSQL-only tests: a migrated client and a private queue."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from drip import Client

POSTGRES_URL = os.environ.get(
    "DRIP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def pg_client(request: pytest.FixtureRequest) -> Iterator[Client]:
    chosen = request.config.getoption("dialect")
    if chosen and "postgresql" not in chosen:
        pytest.skip("PostgreSQL was not selected with --dialect")
    client = Client(POSTGRES_URL)
    client.migrate()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def pg_queue(pg_client: Client) -> Iterator[str]:
    """A queue name no other test uses; its jobs are deleted afterwards."""
    queue = f"pg-{uuid.uuid4().hex[:10]}"
    yield queue
    job = pg_client.dialect.tables.job
    with pg_client.transaction() as connection:
        connection.execute(sa.delete(job).where(job.c.queue == queue))
