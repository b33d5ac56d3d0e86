"""Maintenance: the work one elected process does for the whole cluster.

Every worker process competes for a lease in ``drip_leader``; the holder renews
it each round and runs the tasks below, and a process that stops cleanly
resigns so another takes over at once (otherwise within one lease period).

- rescue: running jobs whose worker stopped heartbeating are retried, with an
  error entry saying the worker was lost (or discarded when out of attempts);
- retention: finished jobs are deleted after a per-state, per-queue age, in
  bounded batches by ascending id, so deletes stay short and never contend
  with workers (which do not touch finished rows);
- TTL: jobs that did not start within their time to live are discarded;
- periodic schedules: each due slot becomes exactly one job (by a loop of
  their own that wakes at each slot, so not as a task of the round);
- reindexing, where the dialect supports it, at its own interval.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio

from drip.durations import Duration, parse_duration
from drip.exceptions import DripError, ValidationError
from drip.job import Job, JobError, JobSpec, encode_errors
from drip.maintenance_plans import (
    DeleteFinished,
    ElectLeader,
    ExpireJob,
    RescueJob,
    StaleJobs,
)
from drip.periodic import Periodic
from drip.plan import Plan
from drip.retry import Exponential, RetryPolicy, retry_delay
from drip.states import FINAL_STATES, JobState

__all__ = ["DEFAULT_RETENTION", "Maintainer", "MaintenanceConfig"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

LEADERSHIP = "maintenance"
SLOT_MARGIN = 0.01  # seconds past a slot before enqueueing it
ROW_PLANS_PER_TRANSACTION = 100  # rescued or expired jobs stored per transaction
DEFAULT_RETENTION: Mapping[str, Duration | None] = {
    "completed": "24h",
    "cancelled": "24h",
    "discarded": "7d",
}


@dataclasses.dataclass(frozen=True)
class MaintenanceConfig:
    """Settings for heartbeats, leadership and the leader's tasks.

    interval: how often the leader runs its tasks (and renews its lease).
    lease: how long leadership lasts without renewal.
    heartbeat_interval: how often workers refresh their running jobs.
    rescue_after: how old a running job's heartbeat may get before the job is
        rescued; ``rescue_after_per_queue`` overrides it per queue.
    retention: how long finished jobs are kept, per final state (None keeps
        them forever); ``retention_per_queue`` overrides states per queue.
    reindex_interval: how often to rebuild indexes where the dialect can do
        so without blocking (PostgreSQL); None never does.
    """

    enabled: bool = True
    interval: Duration = 5
    lease: Duration = 30
    heartbeat_interval: Duration = 5
    rescue_after: Duration = 60
    rescue_after_per_queue: Mapping[str, Duration] = dataclasses.field(
        default_factory=dict
    )
    retention: Mapping[str, Duration | None] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_RETENTION)
    )
    retention_per_queue: Mapping[str, Mapping[str, Duration | None]] = (
        dataclasses.field(default_factory=dict)
    )
    batch_size: int = 1000
    reindex_interval: Duration | None = None

    def __post_init__(self) -> None:
        """Check every setting now, so a typo fails at start-up, not every round."""
        for name in ("interval", "lease", "heartbeat_interval", "rescue_after"):
            parse_duration(getattr(self, name), name=name)
        if self.reindex_interval is not None:
            parse_duration(self.reindex_interval, name="reindex_interval")
        for queue, value in self.rescue_after_per_queue.items():
            parse_duration(value, name=f"rescue_after for queue {queue!r}")
        _check_retention(self.retention, "retention")
        for queue, overrides in self.retention_per_queue.items():
            _check_retention(overrides, f"retention for queue {queue!r}")
        if self.batch_size < 1:
            raise ValidationError("batch_size must be at least 1")

    def seconds(self, name: str) -> float:
        return parse_duration(getattr(self, name), name=name).total_seconds()


RunPlan = Callable[[Plan[Any]], Awaitable[Any]]


def _check_retention(retention: Mapping[str, Duration | None], what: str) -> None:
    finals = {state.value for state in FINAL_STATES}
    for state, age in retention.items():
        if state not in finals:
            raise ValidationError(
                f"{what}: {state!r} is not a final state; use one of "
                f"{', '.join(sorted(finals))}"
            )
        if age is not None:
            parse_duration(age, name=f"{what} of {state} jobs")


class Maintainer:
    """Competes for leadership and, while leader, runs the maintenance tasks."""

    def __init__(
        self,
        *,
        client: Any,
        config: MaintenanceConfig,
        identity: str,
        run_plan: RunPlan,
        retry_policy_for: Callable[[str], RetryPolicy | None],
        schedules: Sequence[Periodic] = (),
        clock: Callable[[], Awaitable[datetime]] | None = None,
    ) -> None:
        self._client = client
        self._dialect = client.dialect
        self._config = config
        self._identity = identity
        self._run_plan = run_plan
        self._retry_policy_for = retry_policy_for
        self._schedules = list(schedules)
        self._clock = clock or self._database_now
        self._last_reindex = time.monotonic()
        self.is_leader = False

    async def run(self) -> None:
        """Run maintenance rounds until cancelled; resign leadership on the way out.

        Periodic schedules get a loop of their own that wakes at each slot, so
        that schedules more frequent than the maintenance interval lose none.
        """
        interval = self._config.seconds("interval")
        try:
            async with anyio.create_task_group() as group:
                if self._schedules:
                    group.start_soon(self._enqueue_periodic_on_time)
                while True:
                    await self.run_round()
                    await anyio.sleep(interval)
        finally:
            with anyio.CancelScope(shield=True):
                await self.resign()

    async def _enqueue_periodic_on_time(self) -> None:
        interval = self._config.seconds("interval")
        while True:
            if not self.is_leader:
                await anyio.sleep(interval)
                continue
            now = await self._clock()
            upcoming = min(schedule.next_slot(now) for schedule in self._schedules)
            wait = (upcoming - now).total_seconds() + SLOT_MARGIN
            await anyio.sleep(min(max(wait, SLOT_MARGIN), interval))
            if self.is_leader:
                try:
                    await self.enqueue_periodic()
                except DripError as error:
                    logger.error(
                        "enqueueing periodic jobs failed: %s",
                        error,
                        extra={"action": "periodic"},
                    )

    async def run_round(self) -> None:
        """One round: renew or seek leadership, and if leader, do every task."""
        try:
            await self._elect()
            if self.is_leader:
                await self._tasks()
        except DripError as error:
            logger.error(
                "maintenance round failed: %s", error, extra={"action": "maintenance"}
            )

    async def resign(self) -> None:
        if not self.is_leader:
            return
        try:
            await self._run_plan(
                self._dialect.resign_leader(LEADERSHIP, self._identity)
            )
            logger.info("resigned leadership", extra={"action": "resign"})
        except DripError as error:
            logger.warning(
                "could not resign leadership: %s", error, extra={"action": "resign"}
            )
        self.is_leader = False

    async def _elect(self) -> None:
        was_leader = self.is_leader
        params = ElectLeader(LEADERSHIP, self._identity, self._config.seconds("lease"))
        self.is_leader = await self._run_plan(self._dialect.elect_leader(params))
        if self.is_leader and not was_leader:
            logger.info(
                "elected leader: running maintenance",
                extra={"action": "elected", "worker_id": self._identity},
            )
        elif was_leader and not self.is_leader:
            logger.warning("lost leadership", extra={"action": "lost_leadership"})

    async def _tasks(self) -> None:
        await self.rescue()
        await self.expire_ttl()
        await self.apply_retention()
        await self._reindex_if_due()

    # -- rescue -----------------------------------------------------------------------

    async def rescue(self) -> int:
        """Retry (or discard) running jobs whose worker stopped heartbeating."""
        config = self._config
        per_queue = {
            queue: parse_duration(value).total_seconds()
            for queue, value in config.rescue_after_per_queue.items()
        }
        default = config.seconds("rescue_after")
        stale = await self._run_plan(
            self._dialect.stale_running_jobs(
                StaleJobs(default, per_queue, config.batch_size)
            )
        )
        jobs = [self._client.decode(row) for row in stale]
        rescued = await self._run_in_chunks(
            self._dialect.rescue_job(
                self._rescue(job, per_queue.get(job.queue, default))
            )
            for job in jobs
        )
        if rescued:
            logger.warning(
                "rescued %s jobs whose worker was lost",
                rescued,
                extra={"action": "rescue", "count": rescued},
            )
        return rescued

    def _rescue(self, job: Job, threshold: float) -> RescueJob:
        entry = JobError(
            attempt=job.attempt,
            at=datetime.now(UTC),
            type="worker_lost",
            message=(
                f"worker {job.worker_id} stopped heartbeating while running the job "
                f"(no heartbeat for {threshold:.0f}s); the attempt counts"
            ),
            worker=job.worker_id,
        )
        errors = encode_errors((*job.errors, entry))
        if job.attempts_exhausted:
            return RescueJob(job.id, threshold, JobState.DISCARDED, errors, 0.0)
        delay = retry_delay(
            self._retry_policy_for(job.kind),
            job.attempt,
            fallback=Exponential(),
            job_id=job.id,
        )
        return RescueJob(job.id, threshold, JobState.RETRYABLE, errors, delay)

    # -- TTL ----------------------------------------------------------------------------

    async def expire_ttl(self) -> int:
        """Discard jobs that did not start within their time to live."""
        now = await self._clock()
        candidates = await self._run_plan(
            self._dialect.ttl_candidates(self._config.batch_size)
        )
        jobs = [self._client.decode(row) for row in candidates]
        expired = await self._run_in_chunks(
            self._dialect.expire_job(ExpireJob(job.id, self._expiry_errors(job, now)))
            for job in jobs
            if now - job.created_at > job.ttl
        )
        if expired:
            logger.info(
                "discarded %s jobs past their TTL",
                expired,
                extra={"action": "ttl", "count": expired},
            )
        return expired

    @staticmethod
    def _expiry_errors(job: Job, now: datetime) -> str:
        entry = JobError(
            attempt=job.attempt,
            at=now,
            type="ttl_expired",
            message=f"the job did not start within its time to live of {job.ttl}",
        )
        return encode_errors((*job.errors, entry))

    async def _run_in_chunks(self, plans: Iterable[Plan[bool]]) -> int:
        """Run per-row plans, a hundred to a transaction; how many changed a row.

        Each plan keeps its own guard (its row is changed only if still in the
        state it was read in); chunks keep every transaction short.
        """
        pending = list(plans)
        changed = 0
        for start in range(0, len(pending), ROW_PLANS_PER_TRANSACTION):
            chunk = pending[start : start + ROW_PLANS_PER_TRANSACTION]
            changed += await self._run_plan(_count_true(chunk))
        return changed

    # -- retention ------------------------------------------------------------------------

    async def apply_retention(self) -> int:
        """Delete finished jobs past their retention, batch by batch."""
        config = self._config
        overridden = list(config.retention_per_queue)
        deleted = 0
        for state, age in config.retention.items():
            deleted += await self._delete_older(
                JobState(state), age, queues=None, except_queues=overridden
            )
        for queue, overrides in config.retention_per_queue.items():
            for state, age in {**config.retention, **overrides}.items():
                deleted += await self._delete_older(
                    JobState(state), age, queues=[queue]
                )
        if deleted:
            logger.info(
                "retention deleted %s finished jobs",
                deleted,
                extra={"action": "retention", "count": deleted},
            )
        return deleted

    async def _delete_older(
        self,
        state: JobState,
        age: Duration | None,
        *,
        queues: list[str] | None,
        except_queues: Sequence[str] = (),
    ) -> int:
        if age is None:
            return 0
        params = DeleteFinished(
            state=state,
            seconds=parse_duration(age, name="retention").total_seconds(),
            limit=self._config.batch_size,
            queues=queues,
            except_queues=except_queues,
        )
        total = 0
        while True:
            deleted = await self._run_plan(self._dialect.delete_finished(params))
            total += deleted
            if deleted < params.limit:
                return total

    # -- periodic schedules -------------------------------------------------------------------

    async def enqueue_periodic(self) -> list[datetime]:
        """Enqueue each schedule's latest slot once; return the slots enqueued."""
        if not self._schedules:
            return []
        now = await self._clock()
        enqueued = []
        for schedule in self._schedules:
            slot = schedule.latest_slot(now)
            if await anyio.to_thread.run_sync(self._enqueue_slot, schedule, slot):
                enqueued.append(slot)
        return enqueued

    def _enqueue_slot(self, schedule: Periodic, slot: datetime) -> bool:
        client, dialect = self._client, self._dialect
        if client.run(dialect.get_periodic(schedule.id), read_only=True) is None:
            try:
                client.run(dialect.create_periodic(schedule.id, schedule.kind, slot))
            except Exception as error:  # another process recorded it first
                logger.debug("periodic record exists: %s", error)
            return False

        with client.transaction() as conn:
            if not client.run(dialect.advance_periodic(schedule.id, slot), conn=conn):
                return False
            spec = JobSpec(
                kind=schedule.kind,
                args=schedule.args,
                queue=schedule.queue,
                scheduled_at=slot,
                **schedule.options,
            )
            (result,) = client.insert_many([spec], conn=conn)
        logger.info(
            "enqueued periodic job %s %s for %s",
            result.id,
            schedule.kind,
            slot.isoformat(),
            extra={"action": "periodic", "job_id": result.id, "kind": schedule.kind},
        )
        return True

    # -- reindex ----------------------------------------------------------------------------------

    async def _reindex_if_due(self) -> None:
        interval = self._config.reindex_interval
        statements = self._dialect.reindex_statements()
        if interval is None or not statements:
            return
        if (
            time.monotonic() - self._last_reindex
            < parse_duration(interval).total_seconds()
        ):
            return
        self._last_reindex = time.monotonic()
        await anyio.to_thread.run_sync(self._reindex, statements)

    def _reindex(self, statements: list[str]) -> None:
        engine = self._client.engine.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            try:
                with engine.connect() as connection:
                    connection.exec_driver_sql(statement)
                logger.info("reindexed: %s", statement, extra={"action": "reindex"})
            except Exception as error:
                logger.error(
                    "reindex failed: %s: %s",
                    statement,
                    error,
                    extra={"action": "reindex"},
                )

    async def _database_now(self) -> datetime:
        return await self._run_plan(self._dialect.database_now())


def _count_true(plans: Sequence[Plan[bool]]) -> Plan[int]:
    """One plan running ``plans`` in turn: how many of them returned True."""
    count = 0
    for plan in plans:
        count += bool((yield from plan))
    return count
