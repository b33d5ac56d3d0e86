"""The dialect operations behind maintenance: leadership, heartbeats, rescue,
retention, TTL expiry and periodic schedules.

Mixed into ``drip.dialect.Dialect``; written in portable SQLAlchemy Core like
the rest of it, so a dialect overrides only what its database needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from drip.plan import Plan, Step
from drip.schema import state_in
from drip.states import JobState

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from drip.schema import Tables

__all__ = [
    "DeleteFinished",
    "ElectLeader",
    "ExpireJob",
    "Heartbeat",
    "MaintenancePlans",
    "RescueJob",
    "StaleJobs",
]


@dataclasses.dataclass(frozen=True, slots=True)
class ElectLeader:
    """Take or renew leadership ``name`` for ``lease_seconds`` if it is free."""

    name: str
    leader_id: str
    lease_seconds: float


@dataclasses.dataclass(frozen=True, slots=True)
class Heartbeat:
    """Refresh the heartbeat of the jobs ``worker_id`` is running."""

    worker_id: str
    ids: Sequence[int]


@dataclasses.dataclass(frozen=True, slots=True)
class StaleJobs:
    """Running jobs whose heartbeat is older than their queue's threshold."""

    default_seconds: float
    per_queue_seconds: Mapping[str, float]
    limit: int


@dataclasses.dataclass(frozen=True, slots=True)
class RescueJob:
    """Move a stale running job on, guarded by it still being stale."""

    id: int
    stale_seconds: float
    state: JobState
    errors: str
    delay_seconds: float


@dataclasses.dataclass(frozen=True, slots=True)
class DeleteFinished:
    """Delete up to ``limit`` jobs in ``state`` finalized over ``seconds`` ago."""

    state: JobState
    seconds: float
    limit: int
    queues: Sequence[str] | None = None  # only these queues
    except_queues: Sequence[str] = ()  # or every queue but these


@dataclasses.dataclass(frozen=True, slots=True)
class ExpireJob:
    """Discard a job that has not started, recording why."""

    id: int
    errors: str


class MaintenancePlans:
    """Plans used by the maintenance leader and by workers' heartbeats."""

    tables: Tables
    job_columns: list[sa.Column[Any]]

    def now(self) -> ColumnElement[datetime]:
        raise NotImplementedError

    def seconds_from_now(self, seconds: float) -> ColumnElement[datetime]:
        raise NotImplementedError

    def id_in(self, column: sa.Column[int], name: str) -> ColumnElement[bool]:
        raise NotImplementedError

    def database_now(self) -> Plan[datetime]:
        """The database's current time."""
        result = yield sa.select(self.now())
        return result.scalar_one()  # type: ignore[no-any-return]

    # -- leadership ----------------------------------------------------------------

    def elect_leader(self, params: ElectLeader) -> Plan[bool]:
        """Become (or stay) the leader if the lease is free, expired or ours."""
        leader = self.tables.leader
        ours = leader.c.leader_id == params.leader_id
        yield (
            sa.update(leader)
            .where(
                leader.c.name == params.name,
                sa.or_(
                    ours, leader.c.leader_id.is_(None), leader.c.expires_at < self.now()
                ),
            )
            .values(
                leader_id=params.leader_id,
                elected_at=sa.case((ours, leader.c.elected_at), else_=self.now()),
                expires_at=self.seconds_from_now(params.lease_seconds),
            )
        )
        # Read back rather than trust the row count: MariaDB counts matched rows.
        result = yield sa.select(leader.c.leader_id).where(leader.c.name == params.name)
        return result.scalar_one_or_none() == params.leader_id

    def resign_leader(self, name: str, leader_id: str) -> Plan[None]:
        """Give leadership up at once so that another process can take it."""
        leader = self.tables.leader
        yield (
            sa.update(leader)
            .where(leader.c.name == name, leader.c.leader_id == leader_id)
            .values(leader_id=None, expires_at=self.seconds_from_now(-1))
        )

    # -- heartbeats and rescue ----------------------------------------------------------

    def heartbeat_jobs(self, params: Heartbeat) -> Plan[list[int]]:
        """Refresh heartbeats; return the ids that are no longer this worker's."""
        job = self.tables.job
        mine = sa.and_(
            self.id_in(job.c.id, "heartbeat_ids"),
            state_in(job.c.state, JobState.RUNNING),
            job.c.worker_id == params.worker_id,
        )
        ids = {"heartbeat_ids": list(params.ids)}
        yield Step(sa.update(job).where(mine).values(heartbeat_at=self.now()), ids)
        result = yield Step(sa.select(job.c.id).where(mine), ids)
        still_mine = set(result.scalars().all())
        return [job_id for job_id in params.ids if job_id not in still_mine]

    def stale_running_jobs(self, params: StaleJobs) -> Plan[list[Row[Any]]]:
        """Running jobs whose worker stopped heartbeating, oldest first."""
        job = self.tables.job
        conditions = [
            sa.and_(
                job.c.queue == queue,
                job.c.heartbeat_at < self.seconds_from_now(-seconds),
            )
            for queue, seconds in params.per_queue_seconds.items()
        ]
        default = job.c.heartbeat_at < self.seconds_from_now(-params.default_seconds)
        if params.per_queue_seconds:
            default = sa.and_(
                default, job.c.queue.not_in(list(params.per_queue_seconds))
            )
        conditions.append(default)
        result = yield (
            sa.select(*self.job_columns)
            .where(state_in(job.c.state, JobState.RUNNING), sa.or_(*conditions))
            .order_by(job.c.heartbeat_at)
            .limit(params.limit)
        )
        return list(result.all())

    def rescue_job(self, params: RescueJob) -> Plan[bool]:
        """Retry or discard a stale job, unless its heartbeat came back meanwhile."""
        job = self.tables.job
        values: dict[str, Any] = {
            "state": params.state.value,
            "errors": params.errors,
            "scheduled_at": self.seconds_from_now(params.delay_seconds),
            "finalized_at": self.now() if params.state.is_final else None,
        }
        result = yield (
            sa.update(job)
            .where(
                job.c.id == params.id,
                job.c.state == JobState.RUNNING.value,
                job.c.heartbeat_at < self.seconds_from_now(-params.stale_seconds),
            )
            .values(values)
        )
        return bool(result.rowcount)

    # -- retention and TTL ------------------------------------------------------------------

    def delete_finished(self, params: DeleteFinished) -> Plan[int]:
        """Delete one bounded batch of old finished jobs, by ascending id."""
        job = self.tables.job
        conditions = [
            state_in(job.c.state, params.state),
            job.c.finalized_at < self.seconds_from_now(-params.seconds),
        ]
        if params.queues is not None:
            conditions.append(job.c.queue.in_(params.queues))
        if params.except_queues:
            conditions.append(job.c.queue.not_in(params.except_queues))
        return (yield from self.delete_batch(conditions, params.limit))

    def delete_batch(
        self, conditions: list[ColumnElement[bool]], limit: int
    ) -> Plan[int]:
        """Delete the ``limit`` lowest-id jobs meeting ``conditions``.

        Selecting ids first and deleting by id keeps each delete short and its
        locks few, whatever the table holds.
        """
        job = self.tables.job
        select = sa.select(job.c.id).where(*conditions).order_by(job.c.id).limit(limit)
        ids = (yield select).scalars().all()
        if not ids:
            return 0
        result = yield sa.delete(job).where(job.c.id.in_(ids), *conditions)
        return int(result.rowcount)

    def ttl_candidates(self, limit: int) -> Plan[list[Row[Any]]]:
        """Jobs with a TTL that have not started, oldest first."""
        job = self.tables.job
        result = yield (
            sa.select(*self.job_columns)
            .where(
                job.c.state.in_([JobState.AVAILABLE.value, JobState.SCHEDULED.value]),
                job.c.ttl_ms.is_not(None),
            )
            .order_by(job.c.created_at)
            .limit(limit)
        )
        return list(result.all())

    def expire_job(self, params: ExpireJob) -> Plan[bool]:
        job = self.tables.job
        result = yield (
            sa.update(job)
            .where(
                job.c.id == params.id,
                job.c.state.in_([JobState.AVAILABLE.value, JobState.SCHEDULED.value]),
            )
            .values(
                state=JobState.DISCARDED.value,
                errors=params.errors,
                finalized_at=self.now(),
            )
        )
        return bool(result.rowcount)

    def reindex_statements(self) -> list[str]:
        """Statements that rebuild Drip's indexes without blocking; none by default."""
        return []

    # -- periodic schedules -----------------------------------------------------------------

    def get_periodic(self, schedule_id: str) -> Plan[Row[Any] | None]:
        periodic = self.tables.periodic
        result = yield sa.select(periodic).where(periodic.c.id == schedule_id)
        return result.first()

    def create_periodic(
        self, schedule_id: str, kind: str, last_slot: datetime
    ) -> Plan[None]:
        """Record a schedule seen for the first time (fails if it exists)."""
        yield sa.insert(self.tables.periodic).values(
            id=schedule_id, kind=kind, last_slot=last_slot, updated_at=self.now()
        )

    def advance_periodic(self, schedule_id: str, slot: datetime) -> Plan[bool]:
        """Claim ``slot`` for a schedule; True for exactly one caller per slot."""
        periodic = self.tables.periodic
        result = yield (
            sa.update(periodic)
            .where(
                periodic.c.id == schedule_id,
                sa.or_(periodic.c.last_slot.is_(None), periodic.c.last_slot < slot),
            )
            .values(last_slot=slot, updated_at=self.now())
        )
        return bool(result.rowcount)
