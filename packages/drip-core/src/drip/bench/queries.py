"""Reading and clearing the benchmark queue, in portable SQLAlchemy Core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from drip.bench.settings import BENCH_QUEUE
from drip.client import Client
from drip.states import JobState

__all__ = ["clear_queue", "count_states", "finished_span", "outputs", "vacuum"]


def clear_queue(client: Client) -> None:
    """Delete every job of the benchmark queue (and nothing else)."""
    job = client.dialect.tables.job
    with client.transaction() as connection:
        connection.execute(sa.delete(job).where(job.c.queue == BENCH_QUEUE))
    vacuum(client)


def vacuum(client: Client) -> None:
    """On PostgreSQL, reclaim dead rows and refresh statistics of the job table.

    Each workload deletes and inserts tens of thousands of rows; their dead
    index entries would slow the next workload's claims until autovacuum
    (which may be off, or slow to start) caught up. Vacuuming first makes runs
    comparable with one another and with other libraries'.
    """
    if client.dialect.name != "postgresql":
        return
    with client.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(sa.text(f"VACUUM ANALYZE {client.dialect.tables.job.name}"))


def count_states(client: Client) -> dict[str, int]:
    """How many benchmark jobs are in each state."""
    job = client.dialect.tables.job
    statement = (
        sa.select(job.c.state, sa.func.count())
        .where(job.c.queue == BENCH_QUEUE)
        .group_by(job.c.state)
    )
    with client.transaction(read_only=True) as connection:
        return {state: int(count) for state, count in connection.execute(statement)}


def finished_span(client: Client) -> tuple[int, datetime | None, datetime | None]:
    """Completed benchmark jobs: their count, first claim and last completion."""
    job = client.dialect.tables.job
    statement = sa.select(
        sa.func.count(),
        sa.func.min(job.c.attempted_at),
        sa.func.max(job.c.finalized_at),
    ).where(job.c.queue == BENCH_QUEUE, job.c.state == JobState.COMPLETED.value)
    with client.transaction(read_only=True) as connection:
        count, first, last = connection.execute(statement).one()
    return int(count), first, last


def outputs(client: Client, ids: list[int]) -> dict[int, Any]:
    """The recorded output of each of these jobs that has one."""
    found: dict[int, Any] = {}
    for job_id in ids:
        job = client.get(job_id)
        if job is not None and "output" in job.metadata:
            found[job_id] = job.metadata["output"]
    return found
