"""The dialect interface: every database operation Drip performs.

A dialect is one database's implementation of these operations. Each
operation takes a single parameters object and returns a ``Plan`` (see
``drip.plan``): the statements to run, built with SQLAlchemy Core, and the
value to return from their results. ``Dialect`` implements every operation
in portable Core; a dialect package subclasses it, states its capabilities
with flags, supplies the few expressions that differ (the database's clock,
column types) and overrides only what its database does better or differently.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row
from sqlalchemy.sql.elements import ColumnElement

from drip.exceptions import DripError
from drip.maintenance_plans import MaintenancePlans
from drip.plan import Plan, Step
from drip.schema import ColumnTypes, Tables, define_tables, state_in
from drip.states import JobState

__all__ = [
    "ClaimJobs",
    "CompleteJobs",
    "CompleteWithOutput",
    "DeleteJobs",
    "Dialect",
    "FinishJob",
    "InsertJobs",
    "InsertedJob",
    "InsertedJobs",
    "ListJobs",
    "Migration",
    "NewJob",
    "TransitionJob",
    "UpdateJob",
    "UpsertQueue",
]


@dataclasses.dataclass(slots=True)
class NewJob:
    """A validated job ready to insert; JSON fields are already encoded.

    Treat it as immutable. It is not frozen because a bulk insert builds one
    per job, and a frozen dataclass takes about three times as long to build.
    """

    kind: str
    queue: str
    state: JobState
    priority: int
    args: str
    metadata: str
    tags: str
    max_attempts: int
    scheduled_at: datetime | None  # None: the database's now
    unique_key: str | None
    unique_states: int | None
    timeout_ms: int | None
    ttl_ms: int | None
    ephemeral: bool


@dataclasses.dataclass(frozen=True, slots=True)
class InsertJobs:
    jobs: Sequence[NewJob]


@dataclasses.dataclass(frozen=True, slots=True)
class InsertedJob:
    """An inserted row, or the existing row a unique job turned out to duplicate."""

    row: Row[Any]
    duplicate: bool


@dataclasses.dataclass(frozen=True, slots=True)
class InsertedJobs:
    """What ``insert_jobs`` did, position by position in the jobs it was given.

    A new job's row holds nothing the client does not know already except what
    the database generated, so for most jobs only that comes back: ``ids`` and
    ``created_at`` (which is also the ``scheduled_at`` of a job given none),
    and the client builds the ``Job`` from its ``NewJob``. ``rows`` holds, by
    position, the jobs read back whole instead, such as unique jobs and the
    existing jobs they duplicate; their entries in the two lists are unused.
    """

    ids: list[int]
    created_at: list[datetime | None]
    rows: dict[int, InsertedJob]


@dataclasses.dataclass(frozen=True, slots=True)
class ClaimJobs:
    """Claim up to ``limit`` due jobs of ``queue`` for ``worker_id``."""

    queue: str
    limit: int
    worker_id: str
    exclude_ids: frozenset[int] = frozenset()


@dataclasses.dataclass(frozen=True, slots=True)
class CompleteJobs:
    """Mark jobs that ``worker_id`` is running completed (deleting ephemeral ones)."""

    ids: Sequence[int]
    worker_id: str
    # False when none of the jobs is ephemeral: the deleting statement is skipped.
    any_ephemeral: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class CompleteWithOutput:
    """Complete running jobs of ``worker_id`` that recorded an output.

    ``metadata`` pairs each job's id with its new metadata (JSON text, the
    output included). None of the jobs is ephemeral.
    """

    metadata: Sequence[tuple[int, str]]
    worker_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class FinishJob:
    """Move one running job to ``state``, guarded by ``worker_id`` still running it.

    errors: the job's whole error list as JSON text, when it changed.
    delay_seconds: for retryable and scheduled, when it becomes due, counted
        from the database's now.
    give_back_attempt: a snooze does not consume the attempt its claim took.
    metadata: the job's whole metadata as JSON text, when it changed.
    """

    id: int
    state: JobState
    worker_id: str
    errors: str | None = None
    delay_seconds: float | None = None
    give_back_attempt: bool = False
    metadata: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ListJobs:
    """Filters for listing jobs newest first; ``after_id`` is the cursor."""

    states: Sequence[JobState] = ()
    kinds: Sequence[str] = ()
    queues: Sequence[str] = ()
    priorities: Sequence[int] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    scheduled_after: datetime | None = None
    scheduled_before: datetime | None = None
    after_id: int | None = None
    limit: int = 100


@dataclasses.dataclass(frozen=True, slots=True)
class TransitionJob:
    """Move job ``id`` to ``to_state``, only if it is in one of ``from_states``."""

    id: int
    from_states: frozenset[JobState]
    to_state: JobState


@dataclasses.dataclass(frozen=True, slots=True)
class UpdateJob:
    """Set columns of job ``id`` if it is in one of ``from_states``.

    ``changes`` maps column names to encoded values; a ``scheduled_at`` change
    also sets the state to scheduled or available, by the database's clock.
    """

    id: int
    from_states: frozenset[JobState]
    changes: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class DeleteJobs:
    """Delete jobs in ``states`` matching every other given filter."""

    states: Sequence[JobState]
    kinds: Sequence[str] = ()
    queues: Sequence[str] = ()
    priorities: Sequence[int] = ()
    finalized_before: datetime | None = None
    created_before: datetime | None = None
    limit: int = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class UpsertQueue:
    """Create or change a queue; None leaves a column as it is."""

    name: str
    metadata: str | None = None
    paused: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema change: its SQL statements, applied in order."""

    version: int
    name: str
    statements: tuple[str, ...]


_MIGRATION_FILE = re.compile(r"(\d{4})_(\w+)\.sql")
_STATEMENT_END = re.compile(r";\s*$", re.MULTILINE)


class Dialect(MaintenancePlans):
    """One database's implementation of Drip's operations, in portable Core.

    Subclasses set the class attributes, implement ``now`` and
    ``seconds_from_now``, and override operations where their database needs.
    """

    name: ClassVar[str]
    """Short name shown to users: "sqlite", "postgresql", "mariadb"."""

    package: ClassVar[str]
    """The distribution that provides this dialect, e.g. "drip-sqlite"."""

    url_backends: ClassVar[frozenset[str]]
    """SQLAlchemy URL backend names this dialect handles ("postgresql")."""

    migrations_package: ClassVar[str]
    """Package holding the numbered ``NNNN_name.sql`` migration files."""

    supports_skip_locked: ClassVar[bool] = False
    """Claims use ``FOR UPDATE SKIP LOCKED``."""

    supports_update_returning: ClassVar[bool] = False
    """``UPDATE ... RETURNING`` exists, so a claim is one statement."""

    supports_listen: ClassVar[bool] = False
    """The database can wake idle workers when jobs are inserted."""

    claims_in_autocommit: ClassVar[bool] = False
    """``claim_jobs`` is one statement, atomic by itself, so workers may run it
    without an explicit transaction, saving the BEGIN and COMMIT round trips."""

    plain_notify: ClassVar[bool] = False
    """``insert_plain_jobs`` notifies listeners of its jobs' queues itself."""

    column_types: ClassVar[ColumnTypes] = ColumnTypes()

    def __init__(self) -> None:
        self.tables: Tables = define_tables(self.column_types)
        job = self.tables.job
        self.job_columns = [
            column for column in job.columns if column.name != "unique_active_key"
        ]
        self._claim_statements: dict[bool, sa.Executable] = {}
        self._completion: tuple[sa.Executable, sa.Executable] | None = None
        self._output_completion: sa.Executable | None = None

    # -- connection set-up ---------------------------------------------------

    def create_engine(self, url: sa.URL, **options: Any) -> Engine:
        """Create an engine for ``url``; subclasses add driver settings."""
        engine = sa.create_engine(url, **options)
        self.configure_engine(engine)
        return engine

    def configure_engine(self, engine: Engine) -> None:
        """Prepare an engine (ours or the application's) for Drip's use."""

    def check_server(self, connection: sa.Connection) -> None:
        """Raise ``ServerTooOld`` when the server cannot run Drip."""

    def translate_error(self, error: Exception) -> DripError | None:
        """Turn a driver error into the most specific Drip error, if any."""
        return None

    # -- the database's clock -------------------------------------------------

    def now(self) -> ColumnElement[datetime]:
        """The database's current time, as an expression."""
        raise NotImplementedError

    def seconds_from_now(self, seconds: float) -> ColumnElement[datetime]:
        """The database's current time plus ``seconds``, as an expression."""
        raise NotImplementedError

    # -- migrations ------------------------------------------------------------

    def migrations(self) -> list[Migration]:
        """This dialect's migrations, read from ``migrations_package``, in order."""
        found = []
        for entry in importlib.resources.files(self.migrations_package).iterdir():
            match = _MIGRATION_FILE.fullmatch(entry.name)
            if match is None:
                continue
            text = entry.read_text(encoding="utf-8")
            statements = tuple(
                statement.strip()
                for statement in _STATEMENT_END.split(text)
                if _has_sql(statement)
            )
            found.append(Migration(int(match[1]), match[2], statements))
        return sorted(found, key=lambda migration: migration.version)

    def lock_migrations(self) -> Plan[None]:
        """Keep other processes from migrating until ``unlock_migrations``."""
        return
        yield

    def unlock_migrations(self) -> Plan[None]:
        return
        yield

    # -- inserting ---------------------------------------------------------------

    def insert_jobs(self, params: InsertJobs) -> Plan[InsertedJobs]:
        """Insert jobs in order and tell listeners of their queues.

        A unique job whose key is held is not inserted: its holder is
        returned as a duplicate. Plain jobs go in by ``insert_plain_jobs``.
        """
        jobs = params.jobs
        plain = [job for job in jobs if not job.unique_key]
        if len(plain) == len(jobs):
            ids, created_at = yield from self.insert_plain_jobs(plain)
            inserted = InsertedJobs(ids=ids, created_at=created_at, rows={})
        else:
            inserted = yield from self._insert_mixed(jobs, plain)

        notified = [job for job in jobs if job.unique_key or not self.plain_notify]
        yield from self.notify_inserted(sorted({job.queue for job in notified}))
        return inserted

    def _insert_mixed(
        self, jobs: Sequence[NewJob], plain: list[NewJob]
    ) -> Plan[InsertedJobs]:
        """A batch holding unique jobs: the plain ones together, then each unique."""
        count = len(jobs)
        inserted = InsertedJobs(ids=[0] * count, created_at=[None] * count, rows={})
        if plain:
            ids, created_at = yield from self.insert_plain_jobs(plain)
            positions = [index for index, job in enumerate(jobs) if not job.unique_key]
            for index, id_, at in zip(positions, ids, created_at, strict=True):
                inserted.ids[index] = id_
                inserted.created_at[index] = at
        for index, job in enumerate(jobs):
            if job.unique_key:
                inserted.rows[index] = yield from self.insert_unique_job(job)
        return inserted

    def insert_plain_jobs(
        self, jobs: Sequence[NewJob]
    ) -> Plan[tuple[list[int], list[datetime | None]]]:
        """Insert jobs without unique keys in one multi-row statement; return
        their ids and creation times, in order."""
        job_table = self.tables.job
        result = yield Step(
            self._insert_statement().returning(
                job_table.c.id, job_table.c.created_at, sort_by_parameter_order=True
            ),
            [self._insert_values(job) for job in jobs],
        )
        rows = result.all()
        return [row[0] for row in rows], [row[1] for row in rows]

    def inserts_in_autocommit(self, params: InsertJobs) -> bool:
        """``insert_jobs(params)`` is one statement, atomic by itself.

        Then a client inserting outside a caller's transaction runs it without
        BEGIN and COMMIT, saving two round trips.
        """
        return False

    def insert_unique_job(self, job: NewJob) -> Plan[InsertedJob]:
        """Insert one unique job unless its key is held; never raise for that."""
        inserted = yield Step(
            self.unique_insert_statement().returning(*self.job_columns),
            self._insert_values(job),
        )
        row = inserted.first()
        if row is not None:
            return InsertedJob(row, duplicate=False)

        holder = self.tables.job.c.unique_active_key == job.unique_key
        existing = yield sa.select(*self.job_columns).where(holder)
        row = existing.first()
        if row is None:
            # The holder changed state between the two statements; try again.
            return (yield from self.insert_unique_job(job))
        return InsertedJob(row, duplicate=True)

    def insert_ignoring_duplicate(self) -> sa.Insert:
        """An insert that skips, without error, a row whose unique key is held.

        Dialects give only the conflict clause; ``unique_insert_statement``
        adds the values every insert computes.
        """
        raise NotImplementedError

    def unique_insert_statement(self) -> sa.Insert:
        """``insert_ignoring_duplicate`` with the generated values of any insert."""
        return self.insert_ignoring_duplicate().values(**self._generated_values())

    def _insert_statement(self) -> sa.Insert:
        return sa.insert(self.tables.job).values(**self._generated_values())

    def _generated_values(self) -> dict[str, Any]:
        """What an insert computes in the database: its clock, and the schedule."""
        scheduled_at = sa.bindparam("p_scheduled_at", type_=self.column_types.timestamp)
        return {
            "scheduled_at": sa.func.coalesce(scheduled_at, self.now()),
            "created_at": self.now(),
        }

    def _insert_values(self, job: NewJob) -> dict[str, Any]:
        return {
            "kind": job.kind,
            "queue": job.queue,
            "state": job.state.value,
            "priority": job.priority,
            "args": job.args,
            "metadata": job.metadata,
            "tags": job.tags,
            "errors": "[]",
            "attempt": 0,
            "max_attempts": job.max_attempts,
            "p_scheduled_at": job.scheduled_at,
            "unique_key": job.unique_key,
            "unique_states": job.unique_states,
            "timeout_ms": job.timeout_ms,
            "ttl_ms": job.ttl_ms,
            "ephemeral": job.ephemeral,
        }

    def notify_inserted(self, queues: Sequence[str]) -> Plan[None]:
        """Tell idle workers of ``queues`` that jobs were inserted (on commit)."""
        return
        yield

    async def listen(self, engine: Engine, wake: Callable[[str], None]) -> None:
        """Call ``wake(queue)`` whenever jobs of a queue are inserted, until cancelled.

        Only called when ``supports_listen``. It must survive a dropped
        connection by reconnecting; workers keep polling in the meantime.
        """
        raise NotImplementedError

    # -- claiming and finishing ----------------------------------------------------

    def claim_jobs(self, params: ClaimJobs) -> Plan[list[Row[Any]]]:
        """Atomically move up to ``limit`` due jobs to running for one worker."""
        job = self.tables.job
        if self.supports_update_returning:
            values: dict[str, Any] = {
                "claim_queue": params.queue,
                "claim_limit": params.limit,
                "claim_worker_id": params.worker_id,
            }
            if params.exclude_ids:
                values["claim_exclude"] = sorted(params.exclude_ids)
            statement = self._claim_statement(bool(params.exclude_ids))
            result = yield Step(statement, values)
            return sorted(result.all(), key=_claim_order)

        excluding = bool(params.exclude_ids)
        candidates = self._candidates(
            params.queue, params.limit, "claim_exclude" if excluding else None
        )
        values = {"claim_exclude": sorted(params.exclude_ids)} if excluding else None
        ids = (yield Step(candidates, values)).scalars().all()
        if not ids:
            return []
        claimed = {**self._claimed_values(), "worker_id": params.worker_id}
        yield sa.update(job).where(job.c.id.in_(ids)).values(claimed)
        rows = yield sa.select(*self.job_columns).where(job.c.id.in_(ids))
        return sorted(rows.all(), key=_claim_order)

    def _claim_statement(self, excluding: bool) -> sa.Executable:
        """The one-statement claim (``UPDATE ... RETURNING``), built once.

        Everything that varies is a bound parameter, so every claim reuses
        one statement: no building, and SQLAlchemy's compiled-form cache and
        the driver's prepared statements hit every time.
        """
        statement = self._claim_statements.get(excluding)
        if statement is None:
            job = self.tables.job
            queue = sa.bindparam("claim_queue", type_=sa.String)
            limit = sa.bindparam("claim_limit", type_=sa.Integer)
            candidates = self._candidates(
                queue, limit, "claim_exclude" if excluding else None
            )
            claimed = {
                **self._claimed_values(),
                "worker_id": sa.bindparam("claim_worker_id", type_=sa.String),
            }
            statement = (
                sa.update(job)
                .where(self.among_claimed(job.c.id, candidates.scalar_subquery()))
                .values(claimed)
                .returning(*self.job_columns)
            )
            self._claim_statements[excluding] = statement
        return statement

    def _claimed_values(self) -> dict[str, Any]:
        job = self.tables.job
        return {
            "state": JobState.RUNNING.value,
            "attempt": job.c.attempt + 1,
            "attempted_at": self.now(),
            "heartbeat_at": self.now(),
        }

    def _candidates(
        self, queue_name: Any, limit: Any, excluded: str | None
    ) -> sa.Select[Any]:
        """Due jobs of a queue in claim order, locked.

        ``queue_name`` and ``limit`` are values or bound parameters; ``excluded``
        names a bound list of ids to leave out.
        """
        job, queue = self.tables.job, self.tables.queue
        paused = sa.exists().where(
            queue.c.name == queue_name, queue.c.paused_at.is_not(None)
        )
        statement = (
            sa.select(job.c.id)
            .where(
                state_in(job.c.state, JobState.AVAILABLE),
                job.c.queue == queue_name,
                job.c.scheduled_at <= self.now(),
                ~paused,
            )
            .order_by(job.c.priority, job.c.scheduled_at, job.c.id)
            .limit(limit)
        )
        if excluded is not None:
            statement = statement.where(~self.id_in(job.c.id, excluded))
        if self.supports_skip_locked:
            statement = statement.with_for_update(skip_locked=True)
        return self.claim_index_hint(statement)

    def among_claimed(
        self, column: sa.Column[int], candidates: sa.ScalarSelect[Any]
    ) -> ColumnElement[bool]:
        """``column`` is one of the ids the claim's locking subquery selected."""
        return column.in_(candidates)

    def id_in(self, column: sa.Column[int], name: str) -> ColumnElement[bool]:
        """``column`` is one of the ids bound as the list parameter ``name``.

        Dialects with array parameters bind the list as one value, so the
        statement's text does not change with the number of ids.
        """
        return column.in_(sa.bindparam(name, expanding=True))

    def claim_index_hint(self, statement: sa.Select[Any]) -> sa.Select[Any]:
        """Pin the claim to the fetch index where the planner may stray from it."""
        return statement

    def complete_jobs(self, params: CompleteJobs) -> Plan[int]:
        """Complete running jobs; return how many were still running.

        A job whose cancellation was requested while it ran ends cancelled.
        """
        values = {
            "complete_ids": list(params.ids),
            "complete_worker_id": params.worker_id,
        }
        delete, update = self._complete_statements()
        deleted = 0
        if params.any_ephemeral:
            deleted = int((yield Step(delete, values)).rowcount)
        updated = yield Step(update, values)
        return deleted + int(updated.rowcount)

    def _complete_statements(self) -> tuple[sa.Executable, sa.Executable]:
        """The two statements of ``complete_jobs``, built once with bound parameters."""
        if self._completion is None:
            job = self.tables.job
            running = sa.and_(
                self.id_in(job.c.id, "complete_ids"),
                job.c.state == JobState.RUNNING.value,
                job.c.worker_id == sa.bindparam("complete_worker_id", type_=sa.String),
            )
            delete = sa.delete(job).where(
                running, job.c.ephemeral.is_(True), job.c.cancel_requested_at.is_(None)
            )
            update = (
                sa.update(job)
                .where(running)
                .values(
                    state=self._unless_cancelled(JobState.COMPLETED),
                    finalized_at=self.now(),
                )
            )
            self._completion = (delete, update)
        return self._completion

    def complete_jobs_with_output(self, params: CompleteWithOutput) -> Plan[None]:
        """Complete running jobs and store their outputs, one statement for all.

        The statement is run once per job with its own parameters (an
        executemany): psycopg pipelines those into one round trip. A job whose
        cancellation was requested while it ran ends cancelled.
        """
        rows = [
            {
                "output_id": job_id,
                "output_metadata": metadata,
                "output_worker_id": params.worker_id,
            }
            for job_id, metadata in params.metadata
        ]
        yield Step(self._output_completion_statement(), rows)

    def _output_completion_statement(self) -> sa.Executable:
        """The statement of ``complete_jobs_with_output``, built once."""
        if self._output_completion is None:
            job = self.tables.job
            self._output_completion = (
                sa.update(job)
                .where(
                    job.c.id == sa.bindparam("output_id", type_=sa.BigInteger),
                    job.c.state == JobState.RUNNING.value,
                    job.c.worker_id
                    == sa.bindparam("output_worker_id", type_=sa.String),
                )
                .values(
                    state=self._unless_cancelled(JobState.COMPLETED),
                    finalized_at=self.now(),
                    metadata=sa.bindparam("output_metadata", type_=job.c.metadata.type),
                )
            )
        return self._output_completion

    def finish_job(self, params: FinishJob) -> Plan[bool]:
        """Record one running job's outcome; False if it was no longer running.

        A job whose cancellation was requested while it ran ends cancelled,
        whatever its handler's outcome.
        """
        job = self.tables.job
        running = sa.and_(
            job.c.id == params.id,
            job.c.state == JobState.RUNNING.value,
            job.c.worker_id == params.worker_id,
        )
        cancelled = job.c.cancel_requested_at.is_not(None)
        values: dict[str, Any] = {
            "state": self._unless_cancelled(params.state),
            # Final either way, or final only if cancelled meanwhile.
            "finalized_at": self.now()
            if params.state.is_final
            else sa.case((cancelled, self.now()), else_=sa.null()),
        }
        if params.delay_seconds is not None:
            values["scheduled_at"] = self.seconds_from_now(params.delay_seconds)
        if params.errors is not None:
            values["errors"] = params.errors
        if params.metadata is not None:
            values["metadata"] = params.metadata
        if params.give_back_attempt:
            values["attempt"] = job.c.attempt - 1

        if params.state is JobState.COMPLETED:
            deleted = yield sa.delete(job).where(
                running, job.c.ephemeral.is_(True), ~cancelled
            )
            if deleted.rowcount:
                return True
        result = yield sa.update(job).where(running).values(values)
        return bool(result.rowcount)

    def _unless_cancelled(self, state: JobState) -> ColumnElement[str]:
        """``state``, or cancelled if someone asked to cancel the job meanwhile."""
        return sa.case(
            (
                self.tables.job.c.cancel_requested_at.is_not(None),
                JobState.CANCELLED.value,
            ),
            else_=sa.literal(state.value),
        )

    def promote_due_jobs(self) -> Plan[int]:
        """Make scheduled and retryable jobs whose time has come available."""
        job = self.tables.job
        result = yield (
            sa.update(job)
            .where(
                state_in(job.c.state, JobState.SCHEDULED, JobState.RETRYABLE),
                job.c.scheduled_at <= self.now(),
            )
            .values(state=JobState.AVAILABLE.value)
        )
        return int(result.rowcount)

    # -- operating on jobs -----------------------------------------------------

    def lock_job(self, job_id: int) -> Plan[Row[Any] | None]:
        """Read a job and lock its row until the transaction ends."""
        statement = sa.select(*self.job_columns).where(self.tables.job.c.id == job_id)
        if self.supports_skip_locked:
            statement = statement.with_for_update()
        result = yield statement
        return result.first()

    def transition_job(self, params: TransitionJob) -> Plan[bool]:
        """Move a job to ``to_state`` if it is in one of ``from_states``."""
        values: dict[str, Any] = {
            "state": params.to_state.value,
            "finalized_at": self.now() if params.to_state.is_final else None,
        }
        if params.to_state is JobState.AVAILABLE:
            values["scheduled_at"] = self.now()
            values["cancel_requested_at"] = None
        return (
            yield from self._update_in_states(params.id, params.from_states, values)
        )

    def request_cancel(self, job_id: int) -> Plan[bool]:
        """Ask the worker running a job to cancel it."""
        job = self.tables.job
        result = yield (
            sa.update(job)
            .where(
                job.c.id == job_id,
                job.c.state == JobState.RUNNING.value,
                job.c.cancel_requested_at.is_(None),
            )
            .values(cancel_requested_at=self.now())
        )
        return bool(result.rowcount)

    def cancel_requested(self, ids: Sequence[int]) -> Plan[list[int]]:
        """Which of these running jobs someone asked to cancel."""
        job = self.tables.job
        statement = sa.select(job.c.id).where(
            self.id_in(job.c.id, "cancel_ids"),
            state_in(job.c.state, JobState.RUNNING),
            job.c.cancel_requested_at.is_not(None),
        )
        result = yield Step(statement, {"cancel_ids": list(ids)})
        return list(result.scalars().all())

    def update_job(self, params: UpdateJob) -> Plan[bool]:
        """Apply ``changes`` to a job in one of ``from_states``."""
        values = dict(params.changes)
        scheduled_at = values.get("scheduled_at")
        if scheduled_at is not None:
            future = sa.literal(scheduled_at, self.column_types.timestamp) > self.now()
            values["state"] = sa.case(
                (future, JobState.SCHEDULED.value), else_=JobState.AVAILABLE.value
            )
        return (
            yield from self._update_in_states(params.id, params.from_states, values)
        )

    def _update_in_states(
        self, job_id: int, states: frozenset[JobState], values: dict[str, Any]
    ) -> Plan[bool]:
        """Set ``values`` on one job, only if it is in one of ``states``."""
        job = self.tables.job
        result = yield (
            sa.update(job)
            .where(
                job.c.id == job_id, job.c.state.in_([state.value for state in states])
            )
            .values(values)
        )
        return bool(result.rowcount)

    def delete_job(self, job_id: int) -> Plan[bool]:
        """Delete a job that is not running."""
        job = self.tables.job
        result = yield sa.delete(job).where(
            job.c.id == job_id, job.c.state != JobState.RUNNING.value
        )
        return bool(result.rowcount)

    def delete_jobs(self, params: DeleteJobs) -> Plan[int]:
        """Delete up to ``limit`` jobs matching every filter; never running ones."""
        job = self.tables.job
        conditions = [
            job.c.state.in_([state.value for state in params.states]),
            job.c.state != JobState.RUNNING.value,
        ]
        if params.kinds:
            conditions.append(job.c.kind.in_(params.kinds))
        if params.queues:
            conditions.append(job.c.queue.in_(params.queues))
        if params.priorities:
            conditions.append(job.c.priority.in_(params.priorities))
        if params.finalized_before is not None:
            conditions.append(job.c.finalized_at < params.finalized_before)
        if params.created_before is not None:
            conditions.append(job.c.created_at < params.created_before)
        return (yield from self.delete_batch(conditions, params.limit))

    # -- queues ------------------------------------------------------------------

    def upsert_queue(self, params: UpsertQueue) -> Plan[None]:
        """Create a queue row, or update the given columns of an existing one."""
        now = self.now()
        values = {
            "name": params.name,
            "metadata": params.metadata or "{}",
            "paused_at": now if params.paused else None,
            "created_at": now,
            "updated_at": now,
        }
        update: dict[str, Any] = {"updated_at": now}
        if params.metadata is not None:
            update["metadata"] = params.metadata
        if params.paused is not None:
            update["paused_at"] = now if params.paused else None
        yield self.queue_upsert_statement(values, update)

    def queue_upsert_statement(
        self, values: dict[str, Any], update: dict[str, Any]
    ) -> sa.Executable:
        """Insert ``values`` into drip_queue, or on a name conflict set ``update``."""
        raise NotImplementedError

    def list_queues(self) -> Plan[list[Row[Any]]]:
        queue = self.tables.queue
        result = yield sa.select(queue).order_by(queue.c.name)
        return list(result.all())

    def get_queue(self, name: str) -> Plan[Row[Any] | None]:
        queue = self.tables.queue
        result = yield sa.select(queue).where(queue.c.name == name)
        return result.first()

    def check_schema(self) -> Plan[None]:
        """Fail with ``SchemaMissing`` (via ``translate_error``) if tables are absent."""
        yield sa.select(self.tables.job.c.id).limit(1)
        yield sa.select(self.tables.queue.c.name).limit(1)

    # -- reading ---------------------------------------------------------------------

    def get_job(self, job_id: int) -> Plan[Row[Any] | None]:
        result = yield sa.select(*self.job_columns).where(
            self.tables.job.c.id == job_id
        )
        return result.first()

    def list_jobs(self, params: ListJobs) -> Plan[list[Row[Any]]]:
        job = self.tables.job
        statement = sa.select(*self.job_columns).order_by(job.c.id.desc())
        if params.states:
            statement = statement.where(
                job.c.state.in_([state.value for state in params.states])
            )
        if params.kinds:
            statement = statement.where(job.c.kind.in_(params.kinds))
        if params.queues:
            statement = statement.where(job.c.queue.in_(params.queues))
        if params.priorities:
            statement = statement.where(job.c.priority.in_(params.priorities))
        if params.created_after is not None:
            statement = statement.where(job.c.created_at >= params.created_after)
        if params.created_before is not None:
            statement = statement.where(job.c.created_at < params.created_before)
        if params.scheduled_after is not None:
            statement = statement.where(job.c.scheduled_at >= params.scheduled_after)
        if params.scheduled_before is not None:
            statement = statement.where(job.c.scheduled_at < params.scheduled_before)
        if params.after_id is not None:
            statement = statement.where(job.c.id < params.after_id)
        result = yield statement.limit(params.limit)
        return list(result.all())

    def count_jobs_by_state(self) -> Plan[dict[JobState, int]]:
        job = self.tables.job
        result = yield sa.select(job.c.state, sa.func.count()).group_by(job.c.state)
        counts = dict.fromkeys(JobState, 0)
        for state, count in result.all():
            counts[JobState(state)] = int(count)
        return counts


def _claim_order(row: Row[Any]) -> tuple[Any, ...]:
    return (row.priority, row.scheduled_at, row.id)


def _has_sql(text: str) -> bool:
    lines = (line.strip() for line in text.splitlines())
    return any(line and not line.startswith("--") for line in lines)
