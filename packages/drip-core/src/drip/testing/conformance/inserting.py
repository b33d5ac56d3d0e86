"""Conformance: inserting jobs, validation, listing and unique jobs."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import drip
from drip import Client, JobSpec, JobState, Unique, Worker
from drip.testing import run_until
from drip.testing.conformance.fixtures import FAST

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


def _varied_batch() -> list[JobSpec]:
    """Specs that between them use every option, plain and unique jobs mixed."""
    later = datetime.now(UTC) + timedelta(hours=2)
    earlier = datetime.now(UTC) - timedelta(minutes=5)
    unique = Unique(by_args=True)
    return [
        JobSpec(kind="plain"),
        JobSpec(
            kind="full",
            args={"text": "Zoë ✓ 😀", "n": [1, 2.5, -0.0, 1e20, None, True]},
            queue="elsewhere",
            priority=4,
            max_attempts=3,
            scheduled_at=later,
            tags=["a", "b"],
            metadata={"nested": {"k": "v"}},
            timeout="90s",
            ttl=5,
            ephemeral=True,
        ),
        JobSpec(kind="due", args={"b": 2, "a": 1}, scheduled_at=earlier),
        JobSpec(kind="once", args={"n": 1}, unique=unique),
        JobSpec(kind="held", pending=True, priority=2),
        JobSpec(kind="once", args={"n": 1}, unique=unique),
        JobSpec(kind="plain", tags=["only"]),
    ]


def test_a_schedule_shared_by_a_batch_or_given_to_a_unique_job_is_kept(
    client: Client,
) -> None:
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    batch = client.insert_many(
        [JobSpec(kind="later", args={"n": n}, scheduled_at=later) for n in range(3)]
    )
    unique = client.insert("later", scheduled_at=later, unique=Unique(by_args=True))

    for result in [*batch, unique]:
        job = client.get(result.id)
        assert job.scheduled_at == later
        assert job.state is JobState.SCHEDULED


@pytest.mark.parametrize("in_callers_transaction", [False, True])
def test_insert_many_returns_each_job_as_get_reads_it(
    client: Client, in_callers_transaction: bool
) -> None:
    specs = _varied_batch()
    if in_callers_transaction:
        with client.transaction() as conn:
            results = client.insert_many(specs, conn=conn)
    else:
        results = client.insert_many(specs)

    assert [result.job.kind for result in results] == [spec.kind for spec in specs]
    assert [result.duplicate for result in results] == [False] * 5 + [True, False]
    assert results[5].id == results[3].id
    for result in results:
        assert client.get(result.id) == result.job
    states = [result.job.state for result in results]
    assert states[1:5] == [
        JobState.SCHEDULED,
        JobState.AVAILABLE,
        JobState.AVAILABLE,
        JobState.PENDING,
    ]


def test_jobs_inserted_together_share_no_mutable_value(client: Client) -> None:
    first, second = client.insert_many([JobSpec(kind="a"), JobSpec(kind="a")])

    first.job.args["changed"] = True
    first.job.metadata["changed"] = True

    assert second.job.args == {} and second.job.metadata == {}


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
        ({"args": {"when": object()}}, "args['when'] has type object"),
        ({"args": {"text": "a\x00b"}}, "args['text'] contains a NUL character"),
        ({"metadata": {"deep": {"x": float("nan")}}}, "metadata['deep']['x'] is nan"),
        ({"args": ["not", "a", "dict"]}, "args must be a dict"),
        ({"tags": "one-string"}, "tags must be a list of strings"),
    ],
)
def test_bad_options_are_rejected_before_any_sql(
    client: Client, statements: list[str], options: dict[str, Any], message: str
) -> None:
    options = dict(options)  # the parameters are shared by every dialect's run
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


@pytest.mark.parametrize(
    "bad",
    [
        JobSpec(kind="x" * 129),
        JobSpec(kind="fine", queue=" "),
        JobSpec(kind="fine", args={"a": 1}, tags=[""]),
    ],
)
def test_a_bad_job_after_good_ones_sharing_its_values_is_refused(
    client: Client, bad: JobSpec
) -> None:
    specs = [JobSpec(kind="fine", args={"a": 1}), JobSpec(kind="fine"), bad]
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
    released = Unique(
        by_args=True,
        by_state=set(JobState)
        - {JobState.COMPLETED, JobState.CANCELLED, JobState.DISCARDED},
    )

    @drip.handler
    def once(context: drip.JobContext) -> None:
        return None

    client.insert("once", {"n": 1}, unique=unique)
    client.insert("once", {"n": 2}, unique=released)
    await run_until(Worker(client, [once], **FAST), finished=2)

    assert client.insert("once", {"n": 1}, unique=unique).duplicate
    assert not client.insert("once", {"n": 2}, unique=released).duplicate


def test_unique_by_state_must_cover_unfinished_states(client: Client) -> None:
    with pytest.raises(
        drip.ValidationError, match="must include every non-final state"
    ):
        client.insert("x", unique=Unique(by_state=["available"]))


def _escaped(message: str) -> str:
    return re.escape(message)
