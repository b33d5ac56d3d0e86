"""Drip's pytest plugin: fixtures for applications that use Drip.

``drip_client`` is a migrated client on a fresh SQLite file (or on the URL in
``DRIP_TEST_DATABASE_URL``, emptied before each test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from drip.client import Client
from drip.testing import empty_client


@pytest.fixture
def drip_client(tmp_path: Path) -> Iterator[Client]:
    url = (
        os.environ.get("DRIP_TEST_DATABASE_URL")
        or f"sqlite:///{tmp_path / 'drip.sqlite3'}"
    )
    with empty_client(url) as client:
        yield client
