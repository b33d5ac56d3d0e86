"""Drip in the comparison: the client inserts, ``drip run`` processes work."""

from __future__ import annotations

import sys
from typing import Any

import sqlalchemy as sa

from drip import Client, JobSpec

__all__ = ["DripHarness"]

QUEUE = "drip_compare"
KIND = "compare_noop"


class DripHarness:
    """Drip through its public API: ``Client`` and ``drip run``."""

    name = "drip"
    # Defaults pass no option at all: ``drip run`` chooses (concurrency 100).
    defaults: dict[str, Any] = {"processes": 1}
    sweep: list[dict[str, Any]] = [
        {"processes": processes, "concurrency": concurrency}
        for processes in (1, 2)
        for concurrency in (50, 100, 500)
    ]

    def __init__(self, url: str) -> None:
        self._url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        self._client = Client(self._url)

    def prepare(self) -> None:
        self._client.migrate()
        job = self._client.dialect.tables.job
        with self._client.transaction() as connection:
            connection.execute(sa.delete(job).where(job.c.queue == QUEUE))
        with self._client.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                sa.text("VACUUM ANALYZE drip_job")
            )

    def insert_batch(self, size: int) -> None:
        self._client.insert_many([JobSpec(kind=KIND, queue=QUEUE)] * size)

    def enqueue_one(self, key: int) -> None:
        self._client.insert(KIND, {"key": key}, queue=QUEUE)

    def remaining(self) -> int:
        job = self._client.dialect.tables.job
        statement = sa.select(sa.func.count()).where(
            job.c.queue == QUEUE, job.c.state != "completed"
        )
        with self._client.transaction(read_only=True) as connection:
            return int(connection.execute(statement).scalar_one())

    def worker_command(self, setting: dict[str, Any], *, drain: bool) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "drip",
            "run",
            "drip_handlers",
            "--url",
            self._url,
            "--queue",
            QUEUE,
        ]
        if "concurrency" in setting:
            command += ["--concurrency", str(setting["concurrency"])]
        return [*command, "--burst"] if drain else command

    def close(self) -> None:
        self._client.close()
