"""Conformance: leadership, rescue, retention, TTL expiry and periodic slots."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from drip import Client, JobState
from drip.maintenance import Maintainer, MaintenanceConfig
from drip.periodic import Periodic
from drip.testing.conformance.fixtures import force


def _maintainer(
    client: Client,
    identity: str = "maintainer-1",
    *,
    schedules: list[Periodic] | None = None,
    clock=None,  # type: ignore[no-untyped-def]
    **settings: object,
) -> Maintainer:
    async def run_plan(plan):  # type: ignore[no-untyped-def]
        return await anyio.to_thread.run_sync(client.run, plan)

    return Maintainer(
        client=client,
        config=MaintenanceConfig(**settings),  # type: ignore[arg-type]
        identity=identity,
        run_plan=run_plan,
        retry_policy_for=lambda kind: lambda attempt: 60.0,
        schedules=schedules or [],
        clock=clock,
    )


def _ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


# -- leadership ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_exactly_one_leader_among_many(client: Client) -> None:
    maintainers = [_maintainer(client, f"process-{n}", lease=30) for n in range(5)]

    async with anyio.create_task_group() as group:
        for maintainer in maintainers:
            group.start_soon(maintainer.run_round)
    for maintainer in maintainers:  # a second round changes nothing
        await maintainer.run_round()

    leaders = [maintainer for maintainer in maintainers if maintainer.is_leader]
    assert len(leaders) == 1

    await leaders[0].resign()
    followers = [
        maintainer for maintainer in maintainers if maintainer is not leaders[0]
    ]
    await followers[0].run_round()
    assert followers[0].is_leader


@pytest.mark.anyio
async def test_leadership_passes_on_when_the_lease_runs_out(client: Client) -> None:
    first = _maintainer(client, "first", lease=0.3)
    second = _maintainer(client, "second", lease=0.3)
    await first.run_round()
    await second.run_round()
    assert first.is_leader and not second.is_leader

    with anyio.fail_after(10):
        while not second.is_leader:  # the first has stopped renewing
            await anyio.sleep(0.05)
            await second.run_round()

    await first.run_round()
    assert not first.is_leader


# -- rescue ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_jobs_of_a_lost_worker_are_rescued(client: Client) -> None:
    lost = client.insert("work", max_attempts=3).id
    exhausted = client.insert("work", max_attempts=1).id
    alive = client.insert("work").id
    slow_queue = client.insert("work", queue="slow").id
    for job_id, attempt in ((lost, 1), (exhausted, 1), (alive, 1), (slow_queue, 1)):
        force(
            client,
            job_id,
            state="running",
            attempt=attempt,
            worker_id="ghost",
            attempted_at=_ago(minutes=5),
            heartbeat_at=_ago(minutes=5),
        )
    force(client, alive, heartbeat_at=datetime.now(UTC))

    maintainer = _maintainer(
        client, rescue_after=60, rescue_after_per_queue={"slow": "1h"}
    )
    assert await maintainer.rescue() == 2

    rescued = client.get(lost)
    assert rescued.state is JobState.RETRYABLE
    assert rescued.errors[-1].type == "worker_lost"
    assert "ghost" in rescued.errors[-1].message
    assert rescued.scheduled_at > datetime.now(UTC) + timedelta(seconds=50)
    assert client.get(exhausted).state is JobState.DISCARDED
    assert client.get(alive).state is JobState.RUNNING
    assert client.get(slow_queue).state is JobState.RUNNING


# -- retention and TTL -----------------------------------------------------------------


@pytest.mark.anyio
async def test_retention_deletes_old_finished_jobs_in_batches(client: Client) -> None:
    old = [client.insert("done").id for _ in range(7)]
    recent = client.insert("done").id
    kept_queue = client.insert("done", queue="audit").id
    failed = client.insert("failed").id
    for job_id in [*old, kept_queue]:
        force(client, job_id, state="completed", finalized_at=_ago(days=2))
    force(client, recent, state="completed", finalized_at=_ago(hours=1))
    force(client, failed, state="discarded", finalized_at=_ago(days=2))

    maintainer = _maintainer(
        client, batch_size=3, retention_per_queue={"audit": {"completed": None}}
    )
    deleted = await maintainer.apply_retention()

    remaining = {job.id for job in client.list()}
    assert deleted == 7
    assert remaining == {recent, kept_queue, failed}


@pytest.mark.anyio
async def test_ttl_expiry_discards_jobs_that_never_started(client: Client) -> None:
    stale = client.insert("fresh", ttl="1m").id
    force(client, stale, created_at=_ago(minutes=5))
    fresh = client.insert("fresh", ttl="1h").id
    running = client.insert("fresh", ttl="1m").id
    force(client, running, state="running", created_at=_ago(minutes=5))

    assert await _maintainer(client).expire_ttl() == 1
    expired = client.get(stale)
    assert expired.state is JobState.DISCARDED
    assert expired.errors[-1].type == "ttl_expired"
    assert client.get(fresh).state is JobState.AVAILABLE
    assert client.get(running).state is JobState.RUNNING


# -- periodic schedules -------------------------------------------------------------------


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    async def __call__(self) -> datetime:
        return self.now


@pytest.mark.anyio
async def test_each_slot_is_enqueued_once_across_racing_processes(
    client: Client,
) -> None:
    schedule = Periodic("tick", every="1m", args={"n": 1})
    clock = FakeClock(datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC))
    maintainers = [
        _maintainer(client, f"p{n}", schedules=[schedule], clock=clock)
        for n in range(4)
    ]

    await maintainers[0].enqueue_periodic()  # first sight records, enqueues nothing
    for _ in range(5):
        clock.now += timedelta(minutes=1)
        threads = [
            threading.Thread(target=anyio.run, args=(maintainer.enqueue_periodic,))
            for maintainer in maintainers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    slots = sorted(job.scheduled_at for job in client.list(kinds=["tick"]))
    assert slots == [
        datetime(2030, 1, 1, 12, minute, tzinfo=UTC) for minute in range(1, 6)
    ]


@pytest.mark.anyio
async def test_a_late_start_enqueues_only_the_latest_missed_slot(
    client: Client,
) -> None:
    schedule = Periodic("tick", every="1h")
    clock = FakeClock(datetime(2030, 1, 1, 0, 30, tzinfo=UTC))
    maintainer = _maintainer(client, schedules=[schedule], clock=clock)
    await maintainer.enqueue_periodic()

    clock.now = datetime(2030, 1, 1, 9, 30, tzinfo=UTC)
    await maintainer.enqueue_periodic()
    (missed,) = client.list(kinds=["tick"])
    client.delete(missed.id)  # as retention would: the slot must stay taken
    await maintainer.enqueue_periodic()

    assert missed.scheduled_at == datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    assert client.list(kinds=["tick"]) == []
    clock.now = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
    await maintainer.enqueue_periodic()
    assert [job.scheduled_at.hour for job in client.list(kinds=["tick"])] == [10]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Autumn: 02:30 happens twice in Paris; the job runs once, at the first.
        (datetime(2026, 10, 24, 1, 0, tzinfo=UTC), ["10-25T00:30", "10-26T01:30"]),
        # Spring: 02:30 does not exist in Paris; the job runs right after the jump.
        (
            datetime(2026, 3, 28, 1, 0, tzinfo=UTC),
            ["03-28T01:30", "03-29T01:00", "03-30T00:30"],
        ),
    ],
)
async def test_cron_slots_across_daylight_saving(
    client: Client, start: datetime, expected: list[str]
) -> None:
    schedule = Periodic("nightly", cron="30 2 * * *", timezone="Europe/Paris")
    hourly = Periodic("hourly", cron="0 * * * *", timezone="Europe/Paris")
    clock = FakeClock(start)
    maintainer = _maintainer(client, schedules=[schedule, hourly], clock=clock)

    while clock.now < start + timedelta(hours=49):
        await maintainer.enqueue_periodic()
        clock.now += timedelta(minutes=30)

    nightly = sorted(
        job.scheduled_at for job in client.list(kinds=["nightly"], limit=1000)
    )
    hours = sorted(
        job.scheduled_at for job in client.list(kinds=["hourly"], limit=1000)
    )
    assert [slot.strftime("%m-%dT%H:%M") for slot in nightly] == expected
    gaps = {later - earlier for earlier, later in itertools.pairwise(hours)}
    assert gaps == {timedelta(hours=1)}  # no UTC hour skipped or doubled
    assert len(hours) == 48


def test_reindex_statements_run_outside_a_transaction(client: Client) -> None:
    engine = client.engine.execution_options(isolation_level="AUTOCOMMIT")
    for statement in client.dialect.reindex_statements():
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
