"""Fixtures for PostgreSQL-only tests: a migrated client and a private queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drip import Client
from tests.servers import private_queue, server_client


@pytest.fixture
def pg_client(request: pytest.FixtureRequest) -> Iterator[Client]:
    yield from server_client(request, "postgresql")


@pytest.fixture
def pg_queue(pg_client: Client) -> Iterator[str]:
    yield from private_queue(pg_client, "pg")
