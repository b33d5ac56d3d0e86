"""The dialect conformance suite: what every database must do identically.

A dialect proves itself by running these tests against a real database. In a
test module of your own::

    from drip.testing.conformance import *  # noqa: F403

and provide a ``drip_url`` fixture returning the URL of a database whose Drip
tables the suite may empty. Every behaviour here holds on every dialect; a
difference is a bug unless documented.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
import sqlalchemy as sa

import drip
from drip import Client, JobSpec, JobState, Unique, Worker
from drip.outcome import OutcomeKind
from drip.testing import reset_database, run_until

FAST = {"poll_interval": 0.05, "shutdown_grace": 5}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def client(drip_url: str) -> Iterator[Client]:
    client = Client(drip_url)
    client.migrate()
    reset_database(client)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def statements(client: Client) -> list[str]:
    """Every SQL statement the client's engine runs from now on."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(client.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(client.engine, "before_cursor_execute", record)


# -- inserting ------------------------------------------------------------------


def test_insert_round_trips_every_field(client: Client) -> None:
    when = datetime.now(UTC) + timedelta(hours=1)
    result = client.insert(
        "send_report",
        {"name": "Zoë ✓", "nested": {"list": [1, 2.5, None, True]}},
        queue="reports",
        priority=3,
        max_attempts=7,
        scheduled_at=when,
        tags=["monthly", "finance"],
        metadata={"requested_by": "ops"},
        timeout="90s",
        ttl="1d",
    )
    job = client.get(result.id)

    assert not result.duplicate
    assert job == result.job
    assert job.kind == "send_report"
    assert job.args == {"name": "Zoë ✓", "nested": {"list": [1, 2.5, None, True]}}
    assert job.queue == "reports"
    assert job.priority == 3
    assert job.max_attempts == 7
    assert job.state is JobState.SCHEDULED
    assert abs(job.scheduled_at - when) < timedelta(milliseconds=1)
    assert job.scheduled_at.tzinfo is not None
    assert job.tags == ("monthly", "finance")
    assert job.metadata == {"requested_by": "ops"}
    assert job.timeout == timedelta(seconds=90)
    assert job.ttl == timedelta(days=1)
    assert job.attempt == 0
    assert job.errors == ()


def test_insert_defaults(client: Client) -> None:
    job = client.insert("noop").job

    assert job.args == {}
    assert job.queue == "default"
    assert job.priority == 1
    assert job.max_attempts == 25
    assert job.state is JobState.AVAILABLE
    assert abs(job.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert job.scheduled_at == job.created_at


def test_insert_extended_json_types(client: Client) -> None:
    import decimal
    import uuid

    identifier = uuid.uuid4()
    job = client.insert(
        "typed",
        {
            "id": identifier,
            "amount": decimal.Decimal("1.10"),
            "day": datetime(2026, 1, 2, tzinfo=UTC),
        },
    ).job

    assert job.args == {
        "id": str(identifier),
        "amount": "1.10",
        "day": "2026-01-02T00:00:00+00:00",
    }


def test_insert_many_keeps_order(client: Client) -> None:
    specs = [
        JobSpec(kind="count", args={"n": n}, priority=1 + n % 4) for n in range(50)
    ]
    results = client.insert_many(specs)

    assert [result.job.args["n"] for result in results] == list(range(50))
    assert [result.job.priority for result in results] == [1 + n % 4 for n in range(50)]
    assert len({result.id for result in results}) == 50


def test_rolled_back_transaction_leaves_no_job(client: Client) -> None:
    with pytest.raises(RuntimeError), client.transaction() as conn:
        client.insert("charge", {"order": 1}, conn=conn)
        raise RuntimeError("the application's own work failed")

    assert client.list() == []


def test_job_is_invisible_until_the_transaction_commits(client: Client) -> None:
    seen_before_commit: list[list[drip.Job]] = []

    with client.transaction() as conn:
        inserted = client.insert("charge", {"order": 2}, conn=conn)
        reader = threading.Thread(
            target=lambda: seen_before_commit.append(client.list())
        )
        reader.start()
        reader.join(timeout=30)

    assert seen_before_commit == [[]]
    assert [job.id for job in client.list()] == [inserted.id]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"priority": 9}, "priority must be an integer from 1 to 4"),
        ({"priority": 0}, "priority must be an integer from 1 to 4"),
        ({"max_attempts": 0}, "max_attempts must be an integer"),
        ({"timeout": "1.5h"}, "invalid timeout '1.5h'"),
        ({"ttl": "soon"}, "invalid ttl 'soon'"),
        ({"queue": ""}, "queue must be a non-empty string"),
        ({"queue": "q" * 129}, "the limit is 128"),
        ({"scheduled_at": datetime(2030, 1, 1)}, "has no time zone"),
        ({"args": {"when": object()}}, "args['when'] is a object"),
        ({"args": {"text": "a\x00b"}}, "args['text'] contains a NUL character"),
        ({"metadata": {"deep": {"x": float("nan")}}}, "metadata['deep']['x'] is nan"),
        ({"args": ["not", "a", "dict"]}, "args must be a dict"),
        ({"tags": "one-string"}, "tags must be a list of strings"),
    ],
)
def test_bad_options_are_rejected_before_any_sql(
    client: Client, statements: list[str], options: dict[str, Any], message: str
) -> None:
    kind = options.pop("kind", "checked")
    args = options.pop("args", {})
    with pytest.raises(drip.ValidationError, match=_escaped(message)):
        client.insert(kind, args, **options)

    assert statements == []


def test_a_bad_job_in_a_batch_inserts_nothing(client: Client) -> None:
    specs = [JobSpec(kind="fine"), JobSpec(kind="bad", priority=5)]
    with pytest.raises(drip.ValidationError):
        client.insert_many(specs)

    assert client.list() == []


def test_list_filters_and_pages_newest_first(client: Client) -> None:
    ids = [
        client.insert(kind, queue=queue, priority=priority).id
        for kind, queue, priority in [
            ("a", "q1", 1),
            ("b", "q1", 2),
            ("a", "q2", 3),
            ("a", "q1", 4),
            ("b", "q2", 1),
        ]
    ]

    assert [job.id for job in client.list()] == ids[::-1]
    assert [job.id for job in client.list(kinds=["a"], queues=["q1"])] == [
        ids[3],
        ids[0],
    ]
    assert [job.id for job in client.list(priorities=[1])] == [ids[4], ids[0]]

    pages, after = [], None
    while page := client.list(limit=2, after=after):
        pages.append([job.id for job in page])
        after = page[-1].id
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]

    with pytest.raises(drip.ValidationError, match="unknown job state 'failed'"):
        client.list(states=["failed"])


# -- unique jobs ------------------------------------------------------------------


def test_unique_duplicate_returns_the_existing_job(client: Client) -> None:
    first = client.insert("sync_account", {"account": 7}, unique=Unique(by_args=True))
    second = client.insert("sync_account", {"account": 7}, unique=Unique(by_args=True))
    other = client.insert("sync_account", {"account": 8}, unique=Unique(by_args=True))

    assert not first.duplicate
    assert second.duplicate
    assert second.id == first.id
    assert not other.duplicate
    assert len(client.list()) == 2


def test_unique_duplicate_keeps_the_callers_transaction_usable(client: Client) -> None:
    unique = Unique(by_keys=["account"])
    with client.transaction() as conn:
        first = client.insert("sync", {"account": 1, "at": 1}, unique=unique, conn=conn)
        second = client.insert(
            "sync", {"account": 1, "at": 2}, unique=unique, conn=conn
        )
        third = client.insert("other", {"account": 1}, conn=conn)

    assert second.duplicate and second.id == first.id
    assert {job.id for job in client.list()} == {first.id, third.id}


def test_unique_in_a_batch_reports_each_duplicate(client: Client) -> None:
    unique = Unique(by_args=True)
    results = client.insert_many(
        [
            JobSpec(kind="mail", args={"to": "a"}, unique=unique),
            JobSpec(kind="mail", args={"to": "b"}, unique=unique),
            JobSpec(kind="mail", args={"to": "a"}, unique=unique),
            JobSpec(kind="mail", args={"to": "a"}),
        ]
    )

    assert [result.duplicate for result in results] == [False, False, True, False]
    assert results[2].id == results[0].id


def test_unique_key_ignores_args_order_at_any_depth(client: Client) -> None:
    unique = Unique(by_args=True)
    first = client.insert("k", {"a": 1, "b": {"x": 1, "y": 2}}, unique=unique)
    second = client.insert("k", {"b": {"y": 2, "x": 1}, "a": 1}, unique=unique)

    assert second.duplicate and second.id == first.id


def test_unique_by_period_and_queue(client: Client) -> None:
    unique = Unique(by_period="1h", by_queue=True)
    base = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)

    first = client.insert(
        "hourly", scheduled_at=base + timedelta(minutes=5), unique=unique
    )
    same_hour = client.insert(
        "hourly", scheduled_at=base + timedelta(minutes=55), unique=unique
    )
    next_hour = client.insert(
        "hourly", scheduled_at=base + timedelta(minutes=65), unique=unique
    )
    other_queue = client.insert(
        "hourly", scheduled_at=base + timedelta(minutes=5), unique=unique, queue="other"
    )

    assert same_hour.duplicate and same_hour.id == first.id
    assert not next_hour.duplicate
    assert not other_queue.duplicate


@pytest.mark.anyio
async def test_unique_key_is_released_by_a_final_state_outside_by_state(
    client: Client,
) -> None:
    unique = Unique(by_args=True)  # completed jobs keep the key by default
    kept = Unique(
        by_args=True,
        by_state=set(JobState)
        - {JobState.COMPLETED, JobState.CANCELLED, JobState.DISCARDED},
    )

    @drip.handler
    def once(context: drip.JobContext) -> None:
        return None

    client.insert("once", {"n": 1}, unique=unique)
    client.insert("once", {"n": 2}, unique=kept)
    await run_until(Worker(client, [once], **FAST), finished=2)

    assert client.insert("once", {"n": 1}, unique=unique).duplicate
    assert not client.insert("once", {"n": 2}, unique=kept).duplicate


def test_unique_by_state_must_cover_unfinished_states(client: Client) -> None:
    with pytest.raises(
        drip.ValidationError, match="must include every non-final state"
    ):
        client.insert("x", unique=Unique(by_state=["available"]))


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
    assert "raise ConnectionError" in error.traceback
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
            await anyio.to_thread.run_sync(started.acquire)
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
    results = []
    async with anyio.create_task_group() as group:

        async def run() -> None:
            results.extend(await run_until(worker, finished=2))

        group.start_soon(run)
        while client.get(inserted.id).state is not JobState.RETRYABLE:
            await anyio.sleep(0.02)
        # The job is due again, but its first call is still running.
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


def _escaped(message: str) -> str:
    import re

    return re.escape(message)
