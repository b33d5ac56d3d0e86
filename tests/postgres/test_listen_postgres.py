"""LISTEN/NOTIFY: inserts wake listeners on commit, and the listener survives drops."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import anyio
import pytest
import sqlalchemy as sa

from drip import Client
from drip_postgres.listen import listener_application_name

pytestmark = pytest.mark.anyio
WAIT = 10.0


class Wakes:
    """Queue names passed to ``wake``, with an event per arrival."""

    def __init__(self) -> None:
        self.queues: list[str] = []
        self.arrived = anyio.Event()

    def __call__(self, queue: str) -> None:
        self.queues.append(queue)
        self.arrived.set()

    async def next(self, queue: str, timeout: float = WAIT) -> None:
        """Wait until ``queue`` is among the wake-ups."""
        with anyio.fail_after(timeout):
            while queue not in self.queues:
                await self.arrived.wait()
                self.arrived = anyio.Event()

    def clear(self) -> None:
        self.queues.clear()
        self.arrived = anyio.Event()


@contextlib.asynccontextmanager
async def listening(client: Client, wakes: Wakes) -> AsyncIterator[int]:
    """Run the dialect's listener; yield its backend pid once it listens."""
    async with anyio.create_task_group() as group:
        group.start_soon(client.dialect.listen, client.engine, wakes)
        try:
            yield await listener_pid(client)
        finally:
            group.cancel_scope.cancel()
    await no_listener(client)


async def listener_pid(client: Client, *, other_than: int | None = None) -> int:
    """Wait until this process's listener connection is listening; its pid."""
    with anyio.fail_after(WAIT):
        while True:
            pids = [pid for pid in _listener_pids(client) if pid != other_than]
            if pids:
                return pids[0]
            await anyio.sleep(0.02)


async def no_listener(client: Client) -> None:
    """Wait until this process has no listener connection left."""
    with anyio.fail_after(WAIT):
        while _listener_pids(client):
            await anyio.sleep(0.02)


def _listener_pids(client: Client) -> list[int]:
    query = sa.text(
        "SELECT pid FROM pg_stat_activity "
        "WHERE application_name = :name AND query LIKE 'LISTEN%'"
    )
    with client.engine.connect() as connection:
        return list(
            connection.execute(query, {"name": listener_application_name()}).scalars()
        )


async def test_commit_wakes_the_listener_with_only_the_queue_name(
    pg_client: Client, pg_queue: str
) -> None:
    wakes = Wakes()
    async with listening(pg_client, wakes):
        with pg_client.transaction() as connection:
            # Args far above NOTIFY's 8000-byte cap: the payload never carries them.
            pg_client.insert(
                "big", {"blob": "x" * 20_000}, queue=pg_queue, conn=connection
            )
            with anyio.move_on_after(0.3):
                await wakes.next(pg_queue)
            assert pg_queue not in wakes.queues, "woken before the commit"
            committed = time.monotonic()

        await wakes.next(pg_queue)
        latency = time.monotonic() - committed

    assert latency < 1.0


async def test_a_rolled_back_insert_wakes_nobody(
    pg_client: Client, pg_queue: str
) -> None:
    wakes = Wakes()
    async with listening(pg_client, wakes):
        with contextlib.suppress(RuntimeError), pg_client.transaction() as connection:
            pg_client.insert("doomed", queue=pg_queue, conn=connection)
            raise RuntimeError("roll back")

        # A later committed insert into a second queue proves delivery works
        # and, arriving after, that the rolled-back one was never sent.
        marker = f"{pg_queue}-after"
        pg_client.insert("marker", queue=marker)
        await wakes.next(marker)
        pg_client.run(_delete_queue(pg_client, marker))

    assert pg_queue not in wakes.queues


async def test_wake_ups_resume_after_the_listener_backend_is_terminated(
    pg_client: Client, pg_queue: str
) -> None:
    wakes = Wakes()
    async with listening(pg_client, wakes) as first_pid:
        with pg_client.engine.connect() as connection:
            connection.execute(
                sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid}
            )
        await listener_pid(pg_client, other_than=first_pid)  # it reconnected

        pg_client.insert("after_reconnect", queue=pg_queue)
        await wakes.next(pg_queue)


async def test_cancelling_the_listener_returns_at_once_and_closes_its_connection(
    pg_client: Client,
) -> None:
    async with anyio.create_task_group() as group:
        group.start_soon(pg_client.dialect.listen, pg_client.engine, Wakes())
        await listener_pid(pg_client)
        started = time.monotonic()
        group.cancel_scope.cancel()
    assert time.monotonic() - started < 0.2

    await no_listener(pg_client)


def _delete_queue(client: Client, queue: str):  # type: ignore[no-untyped-def]
    job = client.dialect.tables.job
    yield sa.delete(job).where(job.c.queue == queue)
