"""Conformance: operator actions on jobs and queues, cancellation, outbox, TTL."""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime, timedelta

import anyio
import pytest
import sqlalchemy as sa

import drip
from drip import Client, JobState, Worker
from drip.outcome import OutcomeKind
from drip.testing import run_until
from drip.testing.conformance.fixtures import FAST, force

# -- operator actions on one job ------------------------------------------------


def test_cancel_a_job_that_has_not_started(client: Client) -> None:
    job = client.cancel(client.insert("later").id)

    assert job.state is JobState.CANCELLED
    assert job.finalized_at is not None
    with pytest.raises(drip.InvalidTransition, match="it is cancelled"):
        client.cancel(job.id)


def test_retry_keeps_the_error_history(client: Client) -> None:
    job = client.insert("x").job
    force(
        client,
        job.id,
        state="discarded",
        errors='[{"attempt":1,"at":"2026-01-01T00:00:00+00:00","type":"E","message":"m"}]',
    )

    retried = client.retry(job.id)

    assert retried.state is JobState.AVAILABLE
    assert retried.finalized_at is None
    assert [error.message for error in retried.errors] == ["m"]
    assert abs(retried.scheduled_at - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("action", "state", "message"),
    [
        ("retry", "completed", "cannot retry job \\d+: it is completed"),
        ("retry", "available", "cannot retry job \\d+: it is available"),
        ("discard", "discarded", "cannot discard job \\d+: it is discarded"),
        ("cancel", "completed", "cannot cancel job \\d+: it is completed"),
        ("delete", "running", "cannot delete job \\d+: it is running"),
    ],
)
def test_actions_the_state_forbids_change_nothing(
    client: Client, action: str, state: str, message: str
) -> None:
    job = client.insert("x").job
    force(client, job.id, state=state)
    before = client.get(job.id)

    with pytest.raises(drip.InvalidTransition, match=message):
        getattr(client, action)(job.id)

    assert client.get(job.id) == before


def test_actions_on_a_missing_job_raise_job_not_found(client: Client) -> None:
    for action in (client.cancel, client.retry, client.discard, client.delete):
        with pytest.raises(drip.JobNotFound, match="job 987654 does not exist"):
            action(987654)


def test_discard_and_delete(client: Client) -> None:
    discarded = client.discard(client.insert("x").id)
    deleted = client.delete(discarded.id)

    assert discarded.state is JobState.DISCARDED
    assert deleted.id == discarded.id
    assert client.get(discarded.id) is None


def test_delete_many_by_filters(client: Client) -> None:
    keep = client.insert("keep").id
    old = [client.insert("old", queue="q").id for _ in range(3)]
    other_queue = client.insert("old", queue="elsewhere").id
    for job_id in [*old, other_queue]:
        client.discard(job_id)

    assert client.delete_many(states=["discarded"], kinds=["old"], queues=["q"]) == 3
    assert {job.id for job in client.list()} == {keep, other_queue}
    assert (
        client.delete_many(
            states=["discarded"], created_before=datetime(2000, 1, 1, tzinfo=UTC)
        )
        == 0
    )
    with pytest.raises(drip.ValidationError, match="unknown job state 'done'"):
        client.delete_many(states=["done"])
    with pytest.raises(drip.ValidationError, match="running jobs cannot be deleted"):
        client.delete_many(states=["running"])


def test_update_fields_and_reschedule(client: Client) -> None:
    job = client.insert("x", queue="a", priority=1).job
    later = datetime.now(UTC) + timedelta(hours=2)

    updated = client.update(
        job.id,
        priority=4,
        queue="b",
        tags=["t"],
        metadata={"k": "v"},
        max_attempts=3,
        scheduled_at=later,
    )

    assert (updated.priority, updated.queue, updated.tags) == (4, "b", ("t",))
    assert (updated.metadata, updated.max_attempts) == ({"k": "v"}, 3)
    assert updated.state is JobState.SCHEDULED
    assert abs(updated.scheduled_at - later) < timedelta(milliseconds=1)

    now = client.update(job.id, scheduled_at=datetime.now(UTC) - timedelta(seconds=1))
    assert now.state is JobState.AVAILABLE


def test_invalid_updates_are_rejected(client: Client) -> None:
    job = client.insert("x").job
    with pytest.raises(
        drip.ValidationError, match="priority must be an integer from 1 to 4"
    ):
        client.update(job.id, priority=0)
    with pytest.raises(drip.ValidationError, match="cannot update kind"):
        client.update(job.id, kind="y")
    force(client, job.id, state="completed")
    with pytest.raises(
        drip.InvalidTransition, match=r"cannot update job \d+: it is completed"
    ):
        client.update(job.id, scheduled_at=datetime.now(UTC))


def test_update_with_a_function_is_atomic(client: Client) -> None:
    job = client.insert("counter", metadata={"count": 0}).job

    def bump() -> None:
        for _ in range(10):
            client.update_with(
                job.id,
                lambda current: {"metadata": {"count": current.metadata["count"] + 1}},
            )

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert client.get(job.id).metadata == {"count": 40}


def test_retrying_a_job_whose_unique_key_was_taken_is_a_clear_error(
    client: Client,
) -> None:
    unique = drip.Unique(by_args=True)
    first = client.insert("u", {"a": 1}, unique=unique)
    client.cancel(first.id)
    client.insert("u", {"a": 1}, unique=unique)

    with pytest.raises(drip.UniqueConflict, match="unique job's key"):
        client.retry(first.id)
    assert client.get(first.id).state is JobState.CANCELLED


# -- queues --------------------------------------------------------------------------


def test_driver_errors_become_drip_errors(client: Client) -> None:
    first = client.insert("solo", unique=drip.Unique())
    force(client, first.id, state="cancelled")
    client.insert("solo", unique=drip.Unique())

    job = client.dialect.tables.job
    revive = sa.update(job).where(job.c.id == first.id).values(state="available")
    with pytest.raises(drip.UniqueConflict):
        client.run(_plan_of(revive))
    with pytest.raises(drip.SchemaMissing, match="drip migrate"):
        client.run(_plan_of(sa.select(sa.table("drip_no_such_table", sa.column("id")))))
    assert client.get(first.id) is not None


def test_queues_upsert_list_pause_resume(client: Client) -> None:
    created = client.upsert_queue("mail", {"owner": "ops"})
    assert (created.name, created.metadata, created.paused) == (
        "mail",
        {"owner": "ops"},
        False,
    )

    paused = client.pause_queue("mail")
    assert paused.paused and paused.metadata == {"owner": "ops"}
    assert client.upsert_queue("mail", {"owner": "sre"}).paused

    new = client.pause_queue("never-seen")
    assert new.paused and new.metadata == {}

    resumed = client.resume_queue("mail")
    assert not resumed.paused
    assert [queue.name for queue in client.list_queues()] == ["mail", "never-seen"]
    assert client.get_queue("missing") is None


@pytest.mark.anyio
async def test_workers_stop_fetching_a_paused_queue_and_resume(client: Client) -> None:
    done: list[int] = []

    @drip.handler
    def work(context: drip.JobContext) -> None:
        done.append(context.job.id)

    worker = Worker(client, [work], queues=["jobs"], **FAST)
    async with anyio.create_task_group() as group:
        group.start_soon(functools.partial(run_until, worker, finished=2))
        first = client.insert("work", queue="jobs").id
        await _wait(lambda: first in done)

        client.pause_queue("jobs")
        held = client.insert("work", queue="jobs").id
        fetched_while_paused = await _fetched_within(worker, seconds=0.5)
        state_while_paused = client.get(held).state

        client.resume_queue("jobs")

    assert not fetched_while_paused
    assert state_while_paused is JobState.AVAILABLE
    assert done == [first, held]


# -- cancelling running jobs ----------------------------------------------------------


@pytest.mark.anyio
async def test_cancelling_a_running_async_job_cancels_its_handler(
    client: Client,
) -> None:
    started, cancelled = anyio.Event(), anyio.Event()

    @drip.handler
    async def long(context: drip.JobContext) -> None:
        started.set()
        try:
            await anyio.sleep(60)
        finally:
            cancelled.set()

    job_id = client.insert("long").id
    worker = Worker(client, [long], **FAST)
    async with anyio.create_task_group() as group:
        group.start_soon(functools.partial(run_until, worker, finished=1))
        await started.wait()
        asked = client.cancel(job_id)

    job = client.get(job_id)
    assert asked.state is JobState.RUNNING
    assert cancelled.is_set()
    assert job.state is JobState.CANCELLED
    assert job.finalized_at is not None


@pytest.mark.anyio
async def test_cancelled_sync_job_sees_the_flag_and_never_completes(
    client: Client,
) -> None:
    started = threading.Event()
    saw_flag: list[bool] = []

    @drip.handler
    def careful(context: drip.JobContext) -> None:
        started.set()
        for _ in range(3000):
            if context.cancel_requested:
                saw_flag.append(True)
                return  # returning normally: the job must still end cancelled
            threading.Event().wait(0.01)

    job_id = client.insert("careful").id
    worker = Worker(client, [careful], **FAST)
    results = []
    async with anyio.create_task_group() as group:

        async def run() -> None:
            results.extend(await run_until(worker, finished=1))

        group.start_soon(run)
        assert await anyio.to_thread.run_sync(functools.partial(started.wait, 30))
        client.cancel(job_id)

    assert saw_flag == [True]
    assert client.get(job_id).state is JobState.CANCELLED
    assert results[0].outcome.kind is OutcomeKind.CANCEL


# -- outbox, ephemeral, TTL ------------------------------------------------------------


@pytest.mark.anyio
async def test_outbox_completion_commits_with_the_handlers_writes(
    client: Client,
) -> None:
    ledger = sa.Table(
        "drip_test_ledger", sa.MetaData(), sa.Column("job_id", sa.BigInteger)
    )
    with client.transaction() as conn:
        ledger.drop(conn, checkfirst=True)
        ledger.create(conn)

    @drip.handler(retry="immediate")
    def book(context: drip.JobContext) -> None:
        with context.client.transaction() as conn:
            conn.execute(sa.insert(ledger).values(job_id=context.job.id))
            context.record_output({"booked": True})
            context.complete(conn)
            assert client.get(context.job.id, conn=conn).state is JobState.COMPLETED
            if context.attempt == 1:
                raise RuntimeError("crash after completing, before commit")

    job_id = client.insert("book").id
    results = await run_until(Worker(client, [book], **FAST), finished=2)

    with client.transaction() as conn:
        booked = conn.execute(sa.select(ledger.c.job_id)).scalars().all()
        ledger.drop(conn)
    job = client.get(job_id)
    assert [item.outcome.kind for item in results] == [
        OutcomeKind.RETRY,
        OutcomeKind.COMPLETED,
    ]
    assert booked == [job_id]
    assert job.state is JobState.COMPLETED
    assert job.attempt == 2
    assert job.output == {"booked": True}


@pytest.mark.anyio
async def test_ephemeral_job_is_deleted_when_it_succeeds(client: Client) -> None:
    @drip.handler
    def ping(context: drip.JobContext) -> None:
        if context.args["fail"]:
            raise drip.Discard("not this one")

    gone = client.insert("ping", {"fail": False}, ephemeral=True).id
    kept = client.insert("ping", {"fail": True}, ephemeral=True).id
    await run_until(Worker(client, [ping], **FAST), finished=2)

    assert client.get(gone) is None
    assert client.get(kept).state is JobState.DISCARDED


@pytest.mark.anyio
async def test_job_not_started_within_its_ttl_is_discarded(client: Client) -> None:
    ran: list[int] = []

    @drip.handler
    def fresh(context: drip.JobContext) -> None:
        ran.append(context.job.id)

    stale = client.insert("fresh", ttl="1s").id
    force(client, stale, created_at=datetime.now(UTC) - timedelta(minutes=5))
    ok = client.insert("fresh", ttl="1h").id
    # Without maintenance: its TTL sweep could discard the job before the
    # claim does, and this test is about the worker's own check.
    worker = Worker(
        client, [fresh], maintenance=drip.MaintenanceConfig(enabled=False), **FAST
    )
    await run_until(worker, finished=2)

    expired = client.get(stale)
    assert ran == [ok]
    assert expired.state is JobState.DISCARDED
    assert expired.attempt == 0
    assert expired.errors[0].type == "ttl_expired"


# -- helpers -----------------------------------------------------------------------------


async def _wait(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)


async def _fetched_within(worker: Worker, *, seconds: float) -> bool:
    """Whether the worker claims any job in the next ``seconds``."""
    fetched = anyio.Event()
    unsubscribe = worker.events.subscribe(
        lambda event: fetched.set() if event.kind == "fetched" else None
    )
    try:
        with anyio.move_on_after(seconds):
            await fetched.wait()
    finally:
        unsubscribe()
    return fetched.is_set()


def _plan_of(statement: sa.Executable):  # type: ignore[no-untyped-def]
    """A one-statement plan: run through the dialect's error translation."""
    yield statement
