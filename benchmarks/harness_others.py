"""procrastinate and pgqueuer in the comparison, through their public APIs.

Each harness keeps one event loop (``asyncio.Runner``) and its connections
for the whole run, so enqueueing one job costs what it costs an application.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import asyncpg
import pgqueuer_app
import procrastinate_app
import psycopg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries

__all__ = ["PgQueuerHarness", "ProcrastinateHarness"]


def _admin(url: str, *statements: str) -> list[Any]:
    """Run statements in autocommit (VACUUM needs it); return the last one's rows."""
    rows: list[Any] = []
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in statements:
            cursor = connection.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
    return rows


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class ProcrastinateHarness:
    """procrastinate 3: ``App`` with ``PsycopgConnector``, tasks deferred async."""

    name = "procrastinate"
    defaults: dict[str, Any] = {"processes": 1, "concurrency": 1}
    sweep: list[dict[str, Any]] = [
        {"processes": processes, "concurrency": concurrency}
        for processes in (1, 2)
        for concurrency in (10, 50)
    ]

    def __init__(self, url: str) -> None:
        self._url = url
        self._runner = asyncio.Runner()
        self._app, self._task = procrastinate_app.build_app(url)
        self._runner.run(_awaited(self._app.open_async()))

    def prepare(self) -> None:
        (exists,) = _admin(self._url, "SELECT to_regclass('procrastinate_jobs')")[0]
        if exists is None:
            self._runner.run(self._app.schema_manager.apply_schema_async())
        _admin(
            self._url,
            "TRUNCATE procrastinate_jobs CASCADE",
            "VACUUM ANALYZE procrastinate_jobs",
        )

    def insert_batch(self, size: int) -> None:
        self._runner.run(self._task.batch_defer_async(*([{}] * size)))

    def enqueue_one(self, key: int) -> None:
        self._runner.run(self._task.defer_async(key=key))

    def remaining(self) -> int:
        rows = _admin(
            self._url,
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')",
        )
        return int(rows[0][0])

    def worker_command(self, setting: dict[str, Any], *, drain: bool) -> list[str]:
        mode = "drain" if drain else "continuous"
        return [
            sys.executable,
            "procrastinate_app.py",
            self._url,
            str(setting["concurrency"]),
            mode,
        ]

    def close(self) -> None:
        self._runner.run(self._app.close_async())
        self._runner.close()


class PgQueuerHarness:
    """pgqueuer 1: ``Queries`` on an ``AsyncpgDriver``; ``PgQueuer.run`` works."""

    name = "pgqueuer"
    defaults: dict[str, Any] = {"processes": 1, "batch_size": 10}
    sweep: list[dict[str, Any]] = [
        {"processes": processes, "batch_size": batch}
        for processes in (1, 2)
        for batch in (10, 100, 500)
    ]

    def __init__(self, url: str) -> None:
        self._url = url
        self._runner = asyncio.Runner()
        self._connection = self._runner.run(asyncpg.connect(url))
        self._queries = Queries(AsyncpgDriver(self._connection))

    def prepare(self) -> None:
        if not self._runner.run(self._queries.schema_is_installed()):
            self._runner.run(self._queries.install())
        self._runner.run(self._queries.clear_queue())
        _admin(self._url, "VACUUM ANALYZE pgqueuer")

    def insert_batch(self, size: int) -> None:
        entrypoints = [pgqueuer_app.ENTRYPOINT] * size
        self._runner.run(self._queries.enqueue(entrypoints, [None] * size, [0] * size))

    def enqueue_one(self, key: int) -> None:
        self._runner.run(
            self._queries.enqueue(pgqueuer_app.ENTRYPOINT, str(key).encode())
        )

    def remaining(self) -> int:
        rows = _admin(self._url, "SELECT count(*) FROM pgqueuer")
        return int(rows[0][0])

    def worker_command(self, setting: dict[str, Any], *, drain: bool) -> list[str]:
        mode = "drain" if drain else "continuous"
        return [
            sys.executable,
            "pgqueuer_app.py",
            self._url,
            str(setting["batch_size"]),
            mode,
        ]

    def close(self) -> None:
        self._runner.run(self._connection.close())
        self._runner.close()
