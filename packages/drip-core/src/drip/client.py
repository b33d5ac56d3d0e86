"""The client: inserting, reading and operating on jobs."""

from __future__ import annotations

import builtins
import contextlib
import functools
import json
import logging
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from drip._prepare import check_aware, prepare_jobs
from drip.database import connect, open_database
from drip.dialect import InsertedJobs, InsertJobs, ListJobs, Migration, NewJob
from drip.durations import Duration
from drip.exceptions import ValidationError
from drip.job import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE,
    InsertResult,
    Job,
    JobError,
    JobSpec,
)
from drip.middleware import Middleware, chain_insert
from drip.migrate import Migrator
from drip.operations import OperatorAPI
from drip.plan import Plan, database_error, run_plan
from drip.serializers import Serializer, resolve_serializer
from drip.states import JobState, parse_states
from drip.unique import Unique

__all__ = ["Client"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Client(OperatorAPI):
    """Drip's entry point for applications: insert jobs and look after them.

    ``database`` is a SQLAlchemy URL (string or ``URL``), an existing
    ``Engine``, or None for ``DRIP_DATABASE_URL`` or else the embedded SQLite
    default. Every operation runs in its own transaction unless given
    ``conn``, a ``Connection`` of the application's: then it joins that
    transaction and never commits it, so the jobs exist only if the caller
    commits.
    """

    def __init__(
        self,
        database: str | sa.URL | Engine | None = None,
        *,
        serializer: Serializer | str | None = None,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        self.engine, self.dialect = open_database(database)
        self._owns_engine = not isinstance(database, Engine)
        self.serializer = resolve_serializer(serializer)
        self.middleware = list(middleware) if middleware is not None else _plugged()
        self._job_fields = _field_getter(self.dialect.job_columns)
        self._checked_server = False

    @property
    def url(self) -> sa.URL:
        return self.engine.url

    def close(self) -> None:
        """Close the client's connections (only those of an engine it created)."""
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transactions and plans ----------------------------------------------

    @contextlib.contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[Connection]:
        """A connection in a transaction that commits on success, else rolls back.

        ``read_only`` tells the dialect that the transaction will not write, so
        it need not take write locks up front (SQLite's ``BEGIN IMMEDIATE``).
        A driver error, including one at COMMIT, comes out as a Drip error.
        """
        try:
            with connect(self.engine, self.dialect) as connection:
                if read_only:
                    connection = connection.execution_options(drip_read_only=True)
                with connection.begin():
                    self._check_server(connection)
                    yield connection
        except sa.exc.DBAPIError as error:
            raise database_error(error, self.dialect.translate_error) from error

    def run(
        self,
        plan: Plan[T],
        *,
        conn: Connection | None = None,
        read_only: bool = False,
        autocommit: bool = False,
    ) -> T:
        """Execute a dialect plan in ``conn``, or in a transaction of its own.

        ``autocommit`` runs each statement on its own instead, without BEGIN
        and COMMIT round trips: only for plans of one self-contained statement.
        """
        if conn is not None:
            return run_plan(conn, plan, self.dialect.translate_error)
        if autocommit:
            with connect(self.engine, self.dialect) as connection:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                self._check_server(connection)
                return run_plan(connection, plan, self.dialect.translate_error)
        with self.transaction(read_only=read_only) as connection:
            return run_plan(connection, plan, self.dialect.translate_error)

    def _check_server(self, connection: Connection) -> None:
        if not self._checked_server:
            self.dialect.check_server(connection)
            self._checked_server = True

    # -- schema -------------------------------------------------------------------

    def migrate(self) -> list[Migration]:
        """Apply the dialect's pending migrations; return the ones applied."""
        return Migrator(self.engine, self.dialect).migrate()

    def migration_sql(self) -> str:
        """Every migration's SQL, for teams that apply schema changes themselves."""
        return Migrator(self.engine, self.dialect).sql()

    # -- inserting ------------------------------------------------------------------

    def insert(
        self,
        kind: str,
        args: dict[str, Any] | None = None,
        *,
        conn: Connection | None = None,
        queue: str = DEFAULT_QUEUE,
        priority: int = DEFAULT_PRIORITY,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        scheduled_at: datetime | None = None,
        tags: Sequence[str] = (),
        metadata: dict[str, Any] | None = None,
        unique: Unique | None = None,
        timeout: Duration | None = None,
        ttl: Duration | None = None,
        ephemeral: bool = False,
        pending: bool = False,
    ) -> InsertResult:
        """Insert one job of ``kind`` with ``args``; see ``JobSpec`` for options."""
        spec = JobSpec(
            kind=kind,
            args={} if args is None else args,
            queue=queue,
            priority=priority,
            max_attempts=max_attempts,
            scheduled_at=scheduled_at,
            tags=tags,
            metadata={} if metadata is None else metadata,
            unique=unique,
            timeout=timeout,
            ttl=ttl,
            ephemeral=ephemeral,
            pending=pending,
        )
        (result,) = self.insert_many([spec], conn=conn)
        return result

    def insert_many(
        self, specs: Iterable[JobSpec], *, conn: Connection | None = None
    ) -> list[InsertResult]:
        """Insert a batch of jobs in one transaction; results follow ``specs``.

        Either every job is inserted (or reported as a duplicate) or, on an
        error, none is.
        """
        specs = builtins.list(specs)
        if not specs:
            return []
        innermost = functools.partial(self._insert_specs, conn=conn)
        return chain_insert(self.middleware, innermost)(specs)

    def _insert_specs(
        self, specs: builtins.list[JobSpec], *, conn: Connection | None
    ) -> builtins.list[InsertResult]:
        prepared = prepare_jobs(specs, self.serializer)
        params = InsertJobs(prepared)
        autocommit = conn is None and self.dialect.inserts_in_autocommit(params)
        inserted = self.run(
            self.dialect.insert_jobs(params), conn=conn, autocommit=autocommit
        )
        return self._insert_results(prepared, inserted)

    def _insert_results(
        self, prepared: builtins.list[NewJob], inserted: InsertedJobs
    ) -> builtins.list[InsertResult]:
        """One result per prepared job: built from it, or decoded if read back."""
        deferred, new_job = InsertResult.deferred, self._new_job
        generated = zip(prepared, inserted.ids, inserted.created_at, strict=True)
        if not inserted.rows:
            return [
                deferred(values[1], functools.partial(new_job, *values))
                for values in generated
            ]
        results = []
        for index, values in enumerate(generated):
            found = inserted.rows.get(index)
            if found is None:
                results.append(deferred(values[1], functools.partial(new_job, *values)))
            else:
                results.append(InsertResult(self.decode(found.row), found.duplicate))
        return results

    def _new_job(self, job: NewJob, id_: int, created_at: datetime | None) -> Job:
        """The ``Job`` a new row holds: what was inserted plus what was generated.

        Equal to what ``get`` returns for it afterwards, without reading it:
        args and metadata are loaded from the text that was stored. Built with
        positional arguments, in ``Job``'s field order, because a bulk insert
        builds one per job and keywords cost a quarter more.
        """
        assert created_at is not None
        loads = self.serializer.loads
        timeout_ms, ttl_ms = job.timeout_ms, job.ttl_ms
        return Job(
            id_,
            job.kind,
            job.queue,
            job.state,
            job.priority,
            loads(job.args),
            loads(job.metadata),
            () if job.tags == "[]" else tuple(json.loads(job.tags)),
            (),  # errors
            0,  # attempt
            job.max_attempts,
            created_at,
            job.scheduled_at or created_at,
            None,  # attempted_at
            None,  # finalized_at
            None,  # heartbeat_at
            None,  # worker_id
            job.unique_key,
            None if timeout_ms is None else timedelta(milliseconds=timeout_ms),
            None if ttl_ms is None else timedelta(milliseconds=ttl_ms),
            job.ephemeral,
        )

    @contextlib.contextmanager
    def _connection(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.transaction() as connection:
                yield connection

    # -- reading -------------------------------------------------------------------

    def get(self, job_id: int, *, conn: Connection | None = None) -> Job | None:
        """The job with ``job_id``, or None if there is none."""
        if isinstance(job_id, bool) or not isinstance(job_id, int):
            raise ValidationError(f"a job id is an integer, not {job_id!r}")
        if not 0 < job_id < 2**63:
            return None
        row = self.run(self.dialect.get_job(job_id), conn=conn, read_only=True)
        return None if row is None else self.decode(row)

    def list(
        self,
        *,
        states: Iterable[JobState | str] = (),
        kinds: Iterable[str] = (),
        queues: Iterable[str] = (),
        priorities: Iterable[int] = (),
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        scheduled_after: datetime | None = None,
        scheduled_before: datetime | None = None,
        after: int | None = None,
        limit: int = 100,
        conn: Connection | None = None,
    ) -> builtins.list[Job]:
        """Jobs matching every given filter, newest first.

        Pass the last id seen as ``after`` to get the next page.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"limit must be a positive integer, not {limit!r}")
        params = ListJobs(
            states=parse_states(states),
            kinds=tuple(kinds),
            queues=tuple(queues),
            priorities=tuple(priorities),
            created_after=check_aware("created_after", created_after),
            created_before=check_aware("created_before", created_before),
            scheduled_after=check_aware("scheduled_after", scheduled_after),
            scheduled_before=check_aware("scheduled_before", scheduled_before),
            after_id=after,
            limit=limit,
        )
        rows = self.run(self.dialect.list_jobs(params), conn=conn, read_only=True)
        return [self.decode(row) for row in rows]

    def count_by_state(self, *, conn: Connection | None = None) -> dict[JobState, int]:
        """How many jobs are in each state."""
        return self.run(self.dialect.count_jobs_by_state(), conn=conn, read_only=True)

    # -- decoding ----------------------------------------------------------------------

    def decode(self, row: Row[Any]) -> Job:
        """Turn a row of ``dialect.job_columns`` into a ``Job``.

        Workers decode every job they claim, so this reads the row by position
        (found once per client) rather than by name.
        """
        (
            id_,
            kind,
            queue,
            state,
            priority,
            args,
            metadata,
            tags,
            errors,
            attempt,
            max_attempts,
            created_at,
            scheduled_at,
            attempted_at,
            finalized_at,
            heartbeat_at,
            worker_id,
            unique_key,
            timeout_ms,
            ttl_ms,
            ephemeral,
        ) = self._job_fields(row)
        loads = self.serializer.loads
        return Job(
            id=id_,
            kind=kind,
            queue=queue,
            state=_STATES[state],
            priority=priority,
            args=loads(args),
            metadata=loads(metadata),
            tags=() if tags == "[]" else tuple(json.loads(tags)),
            errors=() if errors == "[]" else _errors(errors),
            attempt=attempt,
            max_attempts=max_attempts,
            created_at=created_at,
            scheduled_at=scheduled_at,
            attempted_at=attempted_at,
            finalized_at=finalized_at,
            heartbeat_at=heartbeat_at,
            worker_id=worker_id,
            unique_key=unique_key,
            timeout=_duration(timeout_ms),
            ttl=_duration(ttl_ms),
            ephemeral=bool(ephemeral),
        )


_STATES = {state.value: state for state in JobState}

# The ``Job`` fields ``Client.decode`` reads, in the order it unpacks them.
_DECODED_COLUMNS = (
    "id",
    "kind",
    "queue",
    "state",
    "priority",
    "args",
    "metadata",
    "tags",
    "errors",
    "attempt",
    "max_attempts",
    "created_at",
    "scheduled_at",
    "attempted_at",
    "finalized_at",
    "heartbeat_at",
    "worker_id",
    "unique_key",
    "timeout_ms",
    "ttl_ms",
    "ephemeral",
)


def _field_getter(
    columns: Sequence[sa.Column[Any]],
) -> Callable[[Any], tuple[Any, ...]]:
    """A function taking the decoded fields, in order, out of a job row."""
    names = [column.name for column in columns]
    return operator.itemgetter(*(names.index(name) for name in _DECODED_COLUMNS))


def _duration(milliseconds: int | None) -> timedelta | None:
    return None if milliseconds is None else timedelta(milliseconds=milliseconds)


def _errors(text: str) -> tuple[JobError, ...]:
    return tuple(JobError.from_dict(entry) for entry in json.loads(text))


def _plugged() -> builtins.list[Middleware]:
    from drip.plugins import plugin_manager

    layers: builtins.list[Middleware] = []
    for contributed in reversed(plugin_manager().hook.drip_middleware()):
        layers.extend(contributed)
    return layers
