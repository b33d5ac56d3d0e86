"""Fixtures the conformance suite needs; the user provides ``drip_url``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from drip import Client
from drip.testing import empty_client

FAST: dict[str, Any] = {"poll_interval": 0.05, "shutdown_grace": 5}
"""Worker settings that keep tests quick: poll often, drain briefly."""


def force(client: Client, job_id: int, **values: object) -> None:
    """Set a job's columns directly, to put it in a state for a test.

    A job forced into a final state gets a ``finalized_at`` unless given one.
    """
    if values.get("state") in ("completed", "cancelled", "discarded"):
        values.setdefault("finalized_at", datetime.now(UTC))
    job = client.dialect.tables.job
    with client.transaction() as conn:
        conn.execute(sa.update(job).where(job.c.id == job_id).values(**values))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def client(drip_url: str) -> Iterator[Client]:
    with empty_client(drip_url) as client:
        yield client


@pytest.fixture
def statements(client: Client) -> Iterator[list[str]]:
    """Every SQL statement the client's engine runs from now on."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(client.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(client.engine, "before_cursor_execute", record)
