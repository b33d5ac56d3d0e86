"""Conformance: workers running jobs and recording outcomes."""

from __future__ import annotations

import functools
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
import sqlalchemy as sa

import drip
from drip import Client, JobSpec, JobState, Worker
from drip.outcome import OutcomeKind
from drip.testing import run_until
from drip.testing.conformance.fixtures import FAST

# -- running jobs ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_sync_and_async_handlers_complete_their_jobs(client: Client) -> None:
    ran: list[tuple[str, int]] = []

    @drip.handler
    def add(context: drip.JobContext) -> None:
        ran.append(("sync", context.args["n"]))

    @drip.handler(kind="add_async")
    async def add_async(context: drip.JobContext) -> None:
        await anyio.sleep(0)
        ran.append(("async", context.args["n"]))

    client.insert_many(
        [JobSpec(kind="add", args={"n": 1}), JobSpec(kind="add_async", args={"n": 2})]
    )
    finished = await run_until(Worker(client, [add, add_async], **FAST), finished=2)

    assert sorted(ran) == [("async", 2), ("sync", 1)]
    assert {item.outcome.kind for item in finished} == {OutcomeKind.COMPLETED}
    for job in client.list():
        assert job.state is JobState.COMPLETED
        assert job.attempt == 1
        assert job.finalized_at is not None


@pytest.mark.anyio
async def test_completions_are_logged_once_each_at_info_in_batch_lines(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    @drip.handler
    async def tick(context: drip.JobContext) -> None:
        pass

    client.insert_many([JobSpec(kind="tick") for _ in range(30)])
    with caplog.at_level(logging.INFO, logger="drip.worker.completer"):
        await run_until(Worker(client, [tick], **FAST), finished=30)

    lines = [
        record
        for record in caplog.records
        if record.name == "drip.worker.completer" and record.levelno == logging.INFO
    ]
    logged = sum(
        getattr(record, "count", 1)
        for record in lines
        if getattr(record, "action", None) in {"job_completed", "jobs_completed"}
    )
    assert logged == 30
    assert any("jobs completed (tick x" in record.getMessage() for record in lines)


@pytest.mark.anyio
async def test_outputs_of_a_batch_are_each_stored_with_their_own_job(
    client: Client,
) -> None:
    @drip.handler
    async def square(context: drip.JobContext) -> None:
        context.record_output(context.args["n"] ** 2)

    @drip.handler(retry=drip.Constant(3600))
    async def broken(context: drip.JobContext) -> None:
        raise RuntimeError("broken")

    specs = [
        JobSpec(kind="square", args={"n": n}, metadata={"batch": "b"})
        for n in range(25)
    ]
    inserted = client.insert_many([*specs, JobSpec(kind="broken")])
    await run_until(Worker(client, [square, broken], **FAST), finished=26)
    jobs = [client.get(result.id) for result in inserted]

    assert [job.metadata for job in jobs[:-1]] == [
        {"batch": "b", "output": n**2} for n in range(25)
    ]
    assert {job.state for job in jobs[:-1]} == {JobState.COMPLETED}
    assert jobs[-1].state is JobState.RETRYABLE


@pytest.mark.anyio
async def test_failure_records_an_error_and_schedules_a_retry(client: Client) -> None:
    @drip.handler(retry=drip.Constant(delay=3600))
    def flaky(context: drip.JobContext) -> None:
        raise ConnectionError("upstream refused")

    inserted = client.insert("flaky")
    await run_until(Worker(client, [flaky], **FAST), finished=1)
    job = client.get(inserted.id)

    assert job.state is JobState.RETRYABLE
    assert job.attempt == 1
    assert job.scheduled_at > datetime.now(UTC) + timedelta(minutes=55)
    (error,) = job.errors
    assert error.attempt == 1
    assert error.type == "ConnectionError"
    assert error.message == "upstream refused"
    assert "raise ConnectionError" in (error.traceback or "")
    assert abs(error.at - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.anyio
async def test_always_failing_job_is_discarded_after_max_attempts(
    client: Client,
) -> None:
    @drip.handler(retry="immediate")
    def broken(context: drip.JobContext) -> None:
        raise ValueError(f"attempt {context.attempt} failed \x00 with a NUL")

    inserted = client.insert("broken", max_attempts=3)
    await run_until(Worker(client, [broken], **FAST), finished=3)
    job = client.get(inserted.id)

    assert job.state is JobState.DISCARDED
    assert job.attempt == 3
    assert job.finalized_at is not None
    assert [error.attempt for error in job.errors] == [1, 2, 3]
    assert [error.message for error in job.errors] == [
        f"attempt {n} failed \\x00 with a NUL" for n in (1, 2, 3)
    ]


@pytest.mark.anyio
async def test_unknown_kind_is_discarded_naming_the_kind(client: Client) -> None:
    @drip.handler
    def known(context: drip.JobContext) -> None:
        return None

    inserted = client.insert("mystery_kind")
    await run_until(Worker(client, [known], **FAST), finished=1)
    job = client.get(inserted.id)

    assert job.state is JobState.DISCARDED
    assert job.attempt == 1
    (error,) = job.errors
    assert error.type == "unknown_kind"
    assert "'mystery_kind'" in error.message


@pytest.mark.anyio
async def test_worker_claims_no_more_than_its_free_slots(client: Client) -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    @drip.handler
    def block(context: drip.JobContext) -> None:
        started.release()
        release.wait(timeout=30)

    client.insert_many([JobSpec(kind="block") for _ in range(5)])
    worker = Worker(client, [block], concurrency=2, **FAST)
    async with anyio.create_task_group() as group:
        group.start_soon(functools.partial(run_until, worker, finished=5))
        for _ in range(2):
            acquire = functools.partial(started.acquire, timeout=30)
            assert await anyio.to_thread.run_sync(acquire)
        counts = client.count_by_state()
        release.set()

    assert counts[JobState.RUNNING] == 2
    assert counts[JobState.AVAILABLE] == 3
    assert client.count_by_state()[JobState.COMPLETED] == 5


@pytest.mark.anyio
async def test_claims_follow_priority_then_schedule(client: Client) -> None:
    order: list[str] = []

    @drip.handler
    def record(context: drip.JobContext) -> None:
        order.append(context.args["name"])

    past = datetime.now(UTC) - timedelta(minutes=1)
    client.insert("record", {"name": "p4"}, priority=4)
    client.insert("record", {"name": "p2-late"}, priority=2)
    client.insert("record", {"name": "p2-early"}, priority=2, scheduled_at=past)
    client.insert("record", {"name": "p1"}, priority=1)
    await run_until(Worker(client, [record], concurrency=1, **FAST), finished=4)

    assert order == ["p1", "p2-early", "p2-late", "p4"]


@pytest.mark.anyio
async def test_scheduled_job_waits_for_its_time(client: Client) -> None:
    ran_at: list[datetime] = []

    @drip.handler
    def later(context: drip.JobContext) -> None:
        ran_at.append(datetime.now(UTC))

    due = datetime.now(UTC) + timedelta(milliseconds=600)
    client.insert("later", scheduled_at=due)
    client.insert("later", scheduled_at=datetime.now(UTC) + timedelta(days=1))
    await run_until(Worker(client, [later], **FAST), finished=1)

    assert len(ran_at) == 1
    assert ran_at[0] >= due - timedelta(milliseconds=50)
    assert client.count_by_state()[JobState.SCHEDULED] == 1


@pytest.mark.anyio
async def test_paused_queue_is_not_fetched(client: Client) -> None:
    @drip.handler
    def work(context: drip.JobContext) -> None:
        return None

    queue = client.dialect.tables.queue
    with client.transaction() as conn:
        now = datetime.now(UTC)
        conn.execute(
            sa.insert(queue).values(
                name="paused",
                metadata="{}",
                paused_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    held = client.insert("work", queue="paused")
    client.insert("work", queue="open")
    await run_until(
        Worker(client, [work], queues=["paused", "open"], **FAST), finished=1
    )

    assert client.get(held.id).state is JobState.AVAILABLE


@pytest.mark.anyio
async def test_handler_outcomes_snooze_cancel_discard_and_output(
    client: Client,
) -> None:
    @drip.handler
    def decide(context: drip.JobContext) -> None:
        action = context.args["action"]
        if action == "snooze":
            raise drip.Snooze("1h")
        if action == "cancel":
            raise drip.Cancel("no longer wanted")
        if action == "discard":
            raise drip.Discard("bad input")
        context.record_output({"first": True})
        context.record_output({"rows": 3})

    ids = {
        action: client.insert("decide", {"action": action}).id
        for action in ("snooze", "cancel", "discard", "output")
    }
    await run_until(Worker(client, [decide], **FAST), finished=4)
    jobs = {action: client.get(job_id) for action, job_id in ids.items()}

    snoozed = jobs["snooze"]
    assert snoozed.state is JobState.SCHEDULED
    assert snoozed.attempt == 0
    assert snoozed.errors == ()
    assert snoozed.scheduled_at > datetime.now(UTC) + timedelta(minutes=55)

    assert jobs["cancel"].state is JobState.CANCELLED
    assert jobs["cancel"].errors[0].message == "no longer wanted"
    assert jobs["discard"].state is JobState.DISCARDED
    assert jobs["discard"].errors[0].message == "bad input"
    assert jobs["output"].state is JobState.COMPLETED
    assert jobs["output"].output == {"rows": 3}


@pytest.mark.anyio
async def test_async_handler_is_cancelled_at_its_timeout(client: Client) -> None:
    cancelled = anyio.Event()

    @drip.handler(timeout=0.2)
    async def slow(context: drip.JobContext) -> None:
        try:
            await anyio.sleep(30)
        finally:
            cancelled.set()

    inserted = client.insert("slow")
    await run_until(Worker(client, [slow], **FAST), finished=1)
    job = client.get(inserted.id)

    assert cancelled.is_set()
    assert job.state is JobState.RETRYABLE
    assert job.errors[0].type == "timeout"


@pytest.mark.anyio
async def test_overrunning_sync_handler_is_not_started_again_meanwhile(
    client: Client,
) -> None:
    release = threading.Event()
    runs: list[float] = []

    @drip.handler(timeout=0.2, retry="immediate")
    def stuck(context: drip.JobContext) -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            release.wait(timeout=30)

    inserted = client.insert("stuck", max_attempts=5)
    worker = Worker(client, [stuck], **FAST)
    timed_out, empty_claims = anyio.Event(), []

    def on_event(event: Any) -> None:
        if event.kind == "job_finished" and event.data["outcome"].timed_out:
            timed_out.set()
        elif event.kind == "queue_empty" and timed_out.is_set():
            empty_claims.append(event)

    worker.events.subscribe(on_event)
    results = []
    async with anyio.create_task_group() as group:

        async def run() -> None:
            results.extend(await run_until(worker, finished=2))

        group.start_soon(run)
        with anyio.fail_after(20):
            await timed_out.wait()
            while client.get(inserted.id).state is not JobState.AVAILABLE:
                await anyio.sleep(0.01)
            # The job is due again; claims that find nothing prove it is held back.
            seen = len(empty_claims)
            while len(empty_claims) < seen + 3:
                await anyio.sleep(0.01)
        snapshot = list(runs)
        release.set()

    assert snapshot == runs[:1]
    assert results[0].outcome.timed_out
    assert results[1].outcome.kind is OutcomeKind.COMPLETED
    assert client.get(inserted.id).state is JobState.COMPLETED


@pytest.mark.anyio
async def test_shutdown_retries_jobs_that_outlive_the_grace_period(
    client: Client,
) -> None:
    started = anyio.Event()

    @drip.handler
    async def endless(context: drip.JobContext) -> None:
        started.set()
        await anyio.sleep(60)

    inserted = client.insert("endless")
    worker = Worker(client, [endless], poll_interval=0.05, shutdown_grace=0.1)
    async with anyio.create_task_group() as group:
        group.start_soon(worker.run)
        with anyio.fail_after(20):
            await started.wait()
        worker.stop()
    job = client.get(inserted.id)

    assert job.state is JobState.RETRYABLE
    assert job.errors[0].type == "shutdown"
    assert client.count_by_state()[JobState.RUNNING] == 0


@pytest.mark.anyio
async def test_burst_waits_for_retries_that_fall_due(client: Client) -> None:
    @drip.handler(retry="immediate")
    def flaky(context: drip.JobContext) -> None:
        if context.attempt < 3:
            raise RuntimeError(f"attempt {context.attempt} fails")

    client.insert_many(JobSpec(kind="flaky", args={"n": n}) for n in range(20))
    with anyio.fail_after(120):
        summary = await Worker(client, [flaky], burst=True, **FAST).run()

    assert client.count_by_state()[JobState.COMPLETED] == 20
    assert summary == {"completed": 20, "retry": 40}


@pytest.mark.anyio
@pytest.mark.parametrize("interruption", ["timeout", "cancel"])
async def test_a_stop_while_a_job_is_being_interrupted_still_records_it(
    client: Client, interruption: str
) -> None:
    """The job's own timeout or cancellation has fired; its handler is still
    cleaning up when the worker's grace period ends."""
    started, cleaning_up = anyio.Event(), anyio.Event()

    @drip.handler(timeout="300ms" if interruption == "timeout" else None)
    async def tidy(context: drip.JobContext) -> None:
        started.set()
        try:
            await anyio.sleep(60)
        finally:
            cleaning_up.set()
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.5)  # a slow cleanup, e.g. closing a socket

    inserted = client.insert("tidy")
    worker = Worker(client, [tidy], poll_interval=0.05, shutdown_grace=0.05)
    async with anyio.create_task_group() as group:
        group.start_soon(worker.run)
        with anyio.fail_after(20):
            if interruption == "cancel":
                await started.wait()
                await anyio.to_thread.run_sync(client.cancel, inserted.id)
            await cleaning_up.wait()
        worker.stop()
    job = client.get(inserted.id)

    expected = {"timeout": JobState.RETRYABLE, "cancel": JobState.CANCELLED}
    assert job.state is expected[interruption]
    assert job.errors[-1].type in {"timeout", "cancelled"}
    assert client.count_by_state()[JobState.RUNNING] == 0


@pytest.mark.anyio
async def test_an_error_whose_message_cannot_be_read_is_still_a_failure(
    client: Client,
) -> None:
    class Unspeakable(Exception):
        def __str__(self) -> str:
            raise ValueError("no message")

    @drip.handler(retry=drip.Constant(3600))
    async def mute(context: drip.JobContext) -> None:
        raise Unspeakable

    @drip.handler
    async def fine(context: drip.JobContext) -> None:
        return None

    ids = [client.insert(kind).id for kind in ("mute", "fine")]
    await run_until(Worker(client, [mute, fine], **FAST), finished=2)
    muted, done = (client.get(job_id) for job_id in ids)

    assert muted.state is JobState.RETRYABLE
    assert "could not be read" in muted.errors[0].message
    assert done.state is JobState.COMPLETED


@pytest.mark.anyio
async def test_handler_raising_system_exit_or_interrupt_is_a_failure(
    client: Client,
) -> None:
    @drip.handler(retry=drip.Constant(3600))
    def exits(context: drip.JobContext) -> None:
        raise SystemExit(3)

    @drip.handler(retry=drip.Constant(3600))
    async def interrupted(context: drip.JobContext) -> None:
        raise KeyboardInterrupt

    @drip.handler
    def fine(context: drip.JobContext) -> None:
        return None

    ids = [client.insert(kind).id for kind in ("exits", "interrupted", "fine")]
    await run_until(Worker(client, [exits, interrupted, fine], **FAST), finished=3)
    jobs = [client.get(job_id) for job_id in ids]

    assert [job.state for job in jobs] == [
        JobState.RETRYABLE,
        JobState.RETRYABLE,
        JobState.COMPLETED,
    ]
    assert [job.errors[0].type for job in jobs[:2]] == [
        "SystemExit",
        "KeyboardInterrupt",
    ]


@pytest.mark.anyio
async def test_an_output_the_database_cannot_hold_never_strands_a_job(
    client: Client,
) -> None:
    @drip.handler
    def odd(context: drip.JobContext) -> None:
        context.output = {"text": "\ud800"}  # bypasses record_output's check

    @drip.handler
    def fine(context: drip.JobContext) -> None:
        return None

    odd_id = client.insert("odd").id
    client.insert_many(JobSpec(kind="fine") for _ in range(5))
    await run_until(Worker(client, [odd, fine], **FAST), finished=6)

    assert client.count_by_state()[JobState.COMPLETED] == 6
    assert client.get(odd_id).output is None


@pytest.mark.anyio
async def test_a_handler_swallowing_shutdown_still_leaves_no_job_running(
    client: Client,
) -> None:
    started = anyio.Event()

    @drip.handler
    async def stubborn(context: drip.JobContext) -> None:
        started.set()
        try:
            await anyio.sleep(60)
        except BaseException:
            return  # swallows the cancellation, then returns

    client.insert_many(JobSpec(kind="stubborn") for _ in range(3))
    worker = Worker(client, [stubborn], poll_interval=0.05, shutdown_grace=0.1)
    async with anyio.create_task_group() as group:
        group.start_soon(worker.run)
        with anyio.fail_after(20):
            await started.wait()
        worker.stop()

    assert client.count_by_state()[JobState.RUNNING] == 0


@pytest.mark.anyio
async def test_abort_records_running_jobs_for_retry_at_once(client: Client) -> None:
    started = anyio.Event()

    @drip.handler
    async def long(context: drip.JobContext) -> None:
        started.set()
        await anyio.sleep(60)

    job_id = client.insert("long").id
    worker = Worker(client, [long], poll_interval=0.05, shutdown_grace=600)
    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            group.start_soon(worker.run)
            await started.wait()
            worker.abort()

    job = client.get(job_id)
    assert job.state is JobState.RETRYABLE
    assert job.errors[-1].type == "shutdown"


@pytest.mark.anyio
async def test_outbox_completion_of_a_job_no_longer_ours_raises(client: Client) -> None:
    outcomes: list[str] = []

    @drip.handler
    def book(context: drip.JobContext) -> None:
        job = client.dialect.tables.job
        with client.transaction() as conn:  # another worker took the job over
            conn.execute(
                sa.update(job).where(job.c.id == context.job.id).values(worker_id="x")
            )
        try:
            with context.client.transaction() as conn:
                context.complete(conn)
        except drip.InvalidTransition as error:
            outcomes.append(str(error))
            raise

    job_id = client.insert("book").id
    await run_until(Worker(client, [book], **FAST), finished=1)

    assert "no longer running on this worker" in outcomes[0]
    assert client.get(job_id).state is JobState.RUNNING  # not ours to finish
