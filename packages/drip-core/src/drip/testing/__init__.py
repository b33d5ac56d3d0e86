"""Helpers for testing code that uses Drip, and for testing Drip itself.

For applications: ``run_inline`` runs a handler on a job made up in memory,
without a database or a worker; ``assert_enqueued`` checks that code under
test inserted a job. The pytest plugin adds a ``drip_client`` fixture.

For Drip itself and dialect authors: ``run_until`` runs a worker until a
number of job outcomes have been stored, waiting on the worker's events rather
than on the clock; ``reset_database`` empties Drip's tables between tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import anyio
import sqlalchemy as sa

from drip.client import Client
from drip.job import Job
from drip.outcome import Outcome
from drip.testing.inline import InlineResult, assert_enqueued, run_inline
from drip.worker import EventKind, Worker

__all__ = [
    "Finished",
    "InlineResult",
    "assert_enqueued",
    "empty_client",
    "reset_database",
    "run_inline",
    "run_until",
]


@dataclasses.dataclass(frozen=True)
class Finished:
    """A job as it was claimed, and the outcome stored for it."""

    job: Job
    outcome: Outcome


async def run_until(
    worker: Worker, *, finished: int, timeout: float = 20.0
) -> list[Finished]:
    """Run ``worker`` until ``finished`` outcomes are stored, then stop it.

    Returns the outcomes in the order they were stored. Raises ``TimeoutError``
    if they are not all stored within ``timeout`` seconds.
    """
    results: list[Finished] = []
    enough = anyio.Event()

    def on_event(event: Any) -> None:
        if event.kind is EventKind.JOB_FINISHED:
            results.append(Finished(event.data["job"], event.data["outcome"]))
            if len(results) >= finished:
                enough.set()

    unsubscribe = worker.events.subscribe(on_event)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(worker.run)
            try:
                with anyio.fail_after(timeout):
                    await enough.wait()
            finally:
                worker.stop()
    finally:
        unsubscribe()
    return results


@contextlib.contextmanager
def empty_client(database: Any, **options: Any) -> Iterator[Client]:
    """A client on ``database`` with the schema migrated and no jobs; closed after."""
    client = Client(database, **options)
    try:
        client.migrate()
        reset_database(client)
        yield client
    finally:
        client.close()


def reset_database(client: Client) -> None:
    """Delete every job, queue and periodic record, and free the leadership.

    The schema stays.
    """
    tables = client.dialect.tables
    with client.transaction() as connection:
        connection.execute(sa.delete(tables.job))
        connection.execute(sa.delete(tables.queue))
        connection.execute(sa.delete(tables.periodic))
        connection.execute(
            sa.update(tables.leader).values(
                leader_id=None, expires_at=datetime(1970, 1, 1, tzinfo=UTC)
            )
        )
