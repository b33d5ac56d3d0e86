"""MariaDB claims lock only the rows they take, so claimers never wait on each other."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from drip import Client, JobSpec
from drip.dialect import ClaimJobs
from drip.plan import run_plan

JOBS = 2_000


@pytest.fixture
def queued(maria_client: Client, maria_queue: str) -> Iterator[list[int]]:
    """Ids of due jobs in a private queue (which has an unpaused queue row)."""
    results = maria_client.insert_many(
        JobSpec(kind="claim_me", args={"n": n}, queue=maria_queue, priority=1 + n % 4)
        for n in range(JOBS)
    )
    queue = maria_client.dialect.tables.queue
    with maria_client.transaction() as connection:
        connection.execute(
            sa.insert(queue).values(
                name=maria_queue,
                metadata="{}",
                created_at=maria_client.dialect.now(),
                updated_at=maria_client.dialect.now(),
            )
        )
    yield [result.id for result in results]
    with maria_client.transaction() as connection:
        connection.execute(sa.delete(queue).where(queue.c.name == maria_queue))


def test_the_claim_query_follows_the_fetch_index_without_sorting(
    maria_client: Client, maria_queue: str, queued: list[int]
) -> None:
    dialect = maria_client.dialect
    query = dialect._candidates(maria_queue, 10, excluded=None)
    compiled = query.compile(dialect=maria_client.engine.dialect)

    with maria_client.engine.connect() as connection:
        plan = (
            connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
            .mappings()
            .all()
        )

    job_step = next(step for step in plan if step["table"] == "drip_job")
    assert job_step["key"] == "drip_job_fetch"
    assert "filesort" not in (job_step["Extra"] or "")


def test_a_second_claimer_gets_other_jobs_at_once(
    maria_client: Client, maria_queue: str, queued: list[int]
) -> None:
    dialect = maria_client.dialect
    engine = maria_client.engine

    with engine.connect() as first, engine.connect() as second:
        # A claimer that had to wait would fail after 2s rather than 50s.
        second.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 2")
        second.commit()
        with first.begin():
            taken = _claim(first, dialect, maria_queue, "first")
            with second.begin():
                started = time.monotonic()
                also_taken = _claim(second, dialect, maria_queue, "second")
                waited = time.monotonic() - started

                # Jobs neither claimed are free: a third party locks them at once.
                untouched = sorted(set(queued) - set(taken) - set(also_taken))[:50]
                with engine.connect() as third, third.begin():
                    job = dialect.tables.job
                    locked = third.execute(
                        sa.select(job.c.id)
                        .where(job.c.id.in_(untouched))
                        .with_for_update(nowait=True)
                    ).scalars()
                    assert sorted(locked) == untouched

    assert len(taken) == len(also_taken) == 10
    assert not set(taken) & set(also_taken)
    assert waited < 1.0


def test_claims_follow_priority_then_schedule_then_id(
    maria_client: Client, maria_queue: str, queued: list[int]
) -> None:
    with maria_client.engine.connect() as connection, connection.begin():
        claimed = _claim(connection, maria_client.dialect, maria_queue, "ordered")

    expected = [job_id for n, job_id in enumerate(queued) if n % 4 == 0][:10]
    assert claimed == expected


def _claim(
    connection: sa.Connection, dialect: object, queue: str, worker: str
) -> list[int]:
    plan = dialect.claim_jobs(ClaimJobs(queue=queue, limit=10, worker_id=worker))  # type: ignore[attr-defined]
    rows = run_plan(connection, plan, dialect.translate_error)  # type: ignore[attr-defined]
    return [row.id for row in rows]
