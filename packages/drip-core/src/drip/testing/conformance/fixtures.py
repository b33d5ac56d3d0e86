"""Fixtures the conformance suite needs; the user provides ``drip_url``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from drip import Client
from drip.testing import empty_client

FAST: dict[str, Any] = {"poll_interval": 0.05, "shutdown_grace": 5}
"""Worker settings that keep tests quick: poll often, drain briefly."""


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
