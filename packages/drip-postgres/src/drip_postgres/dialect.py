"""Drip on PostgreSQL (12 or newer) through psycopg 3.

Claims are one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING`` statement, so concurrent workers each take different jobs without
waiting on one another. Inserts notify idle workers on commit (see
``drip_postgres.listen``); plain jobs go in by one ``INSERT ... SELECT FROM
unnest`` per chunk that also notifies (``drip_postgres.bulk``).
Every timestamp Drip compares comes from ``statement_timestamp()``, the
server's clock at the start of the current statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from drip.dialect import Dialect, InsertJobs, NewJob
from drip.exceptions import DripError, ServerTooOld
from drip.plan import Plan
from drip.schema import ColumnTypes, UTCDateTime
from drip_postgres import bulk, errors, listen
from drip_postgres.types import JSONBText, load_json_as_text

__all__ = ["MINIMUM_VERSION", "PostgresDialect"]

MINIMUM_VERSION = (12,)
MIGRATION_LOCK_KEY = 0x64726970_6D696772  # "dripmigr": one advisory lock per database


_JOB_INDEXES = (
    "drip_job_fetch",
    "drip_job_due",
    "drip_job_finalized",
    "drip_job_heartbeat",
    "drip_job_unique_active_key",
)


class PostgresDialect(Dialect):
    name = "postgresql"
    package = "drip-postgres"
    url_backends = frozenset({"postgresql"})
    migrations_package = "drip_postgres.migrations"
    supports_skip_locked = True
    supports_update_returning = True
    supports_listen = True
    plain_notify = True
    claims_in_autocommit = True
    column_types = ColumnTypes(timestamp=UTCDateTime(), json=JSONBText())

    def __init__(self) -> None:
        super().__init__()
        self._bulk_insert: sa.Executable | None = None

    # -- connection set-up ---------------------------------------------------

    def create_engine(self, url: sa.URL, **options: Any) -> Engine:
        """Drip's own engines open their sessions in UTC.

        psycopg then returns every timestamp already in UTC, which halves the
        cost of reading a claimed row. An application's engine, or a URL that
        sets its own ``options``, keeps its session time zone: Drip converts.
        """
        if "options" not in url.query:
            connect_args = {"options": "-c TimeZone=UTC"}
            connect_args.update(options.pop("connect_args", {}))
            options["connect_args"] = connect_args
        return super().create_engine(url, **options)

    def configure_engine(self, engine: Engine) -> None:
        sa.event.listen(engine, "connect", _prepare_connection)

    def check_server(self, connection: sa.Connection) -> None:
        version = connection.dialect.server_version_info or ()
        if tuple(version[:1]) < MINIMUM_VERSION:
            shown = ".".join(str(part) for part in version) or "unknown"
            raise ServerTooOld(
                f"PostgreSQL {shown} is too old: Drip needs 12 or newer (for "
                "generated columns and REINDEX CONCURRENTLY)"
            )

    def translate_error(self, error: Exception) -> DripError | None:
        return errors.translate_error(error)

    # -- the database's clock -------------------------------------------------

    def now(self) -> ColumnElement[datetime]:
        return sa.func.statement_timestamp(type_=UTCDateTime())

    def seconds_from_now(self, seconds: float) -> ColumnElement[datetime]:
        interval = sa.func.make_interval(
            0, 0, 0, 0, 0, 0, sa.literal(seconds, sa.Float)
        )
        return sa.type_coerce(sa.func.statement_timestamp() + interval, UTCDateTime())

    # -- migrations ------------------------------------------------------------

    def lock_migrations(self) -> Plan[None]:
        yield sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK_KEY))

    def unlock_migrations(self) -> Plan[None]:
        yield sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK_KEY))

    # -- inserting ---------------------------------------------------------------

    def insert_plain_jobs(
        self, jobs: Sequence[NewJob]
    ) -> Plan[tuple[list[int], list[datetime | None]]]:
        """By ``drip_postgres.bulk``'s statement, which also notifies listeners."""
        return (yield from bulk.insert_plain_jobs(self, jobs))

    def inserts_in_autocommit(self, params: InsertJobs) -> bool:
        """Plain jobs that fit in one chunk go in, and notify, in one statement."""
        jobs = params.jobs
        return len(jobs) <= bulk.CHUNK_SIZE and not any(job.unique_key for job in jobs)

    def bulk_insert_statement(self) -> sa.Executable:
        """``drip_postgres.bulk``'s statement, built once per dialect."""
        if self._bulk_insert is None:
            self._bulk_insert = bulk.bulk_insert_statement(self)
        return self._bulk_insert

    def among_claimed(
        self, column: sa.Column[int], candidates: sa.ScalarSelect[Any]
    ) -> ColumnElement[bool]:
        """``column = ANY(ARRAY(subquery))``: the claimed rows found by primary key.

        With ``IN (subquery)`` the planner may hash-join the candidates against
        a scan of the whole table, on every claim.
        """
        return column == sa.any_(sa.func.array(candidates))

    def id_in(self, column: sa.Column[int], name: str) -> ColumnElement[bool]:
        """``column = ANY(:name)``, the list bound as one ``bigint[]``."""
        return column == sa.any_(sa.bindparam(name, type_=ARRAY(sa.BigInteger)))

    def insert_ignoring_duplicate(self) -> sa.Insert:
        job = self.tables.job
        return pg_insert(job).on_conflict_do_nothing(
            index_elements=[job.c.unique_active_key],
            index_where=job.c.unique_active_key.is_not(None),
        )

    def queue_upsert_statement(
        self, values: dict[str, Any], update: dict[str, Any]
    ) -> sa.Executable:
        statement = pg_insert(self.tables.queue).values(values)
        return statement.on_conflict_do_update(index_elements=["name"], set_=update)

    def reindex_statements(self) -> list[str]:
        """Rebuild each of Drip's job indexes without blocking writers.

        An interrupted ``REINDEX CONCURRENTLY`` leaves an invalid index named
        ``<index>_ccnew`` behind, which PostgreSQL keeps maintaining; Drip does
        not clean those up, and an operator should drop them.
        """
        return [f"REINDEX INDEX CONCURRENTLY {name}" for name in _JOB_INDEXES]

    def notify_inserted(self, queues: Sequence[str]) -> Plan[None]:
        """Notify listeners of each queue; PostgreSQL delivers it on commit."""
        for queue in queues:
            yield sa.select(sa.func.pg_notify(listen.CHANNEL, queue))

    async def listen(self, engine: Engine, wake: Callable[[str], None]) -> None:
        await listen.listen(engine, wake)


def _prepare_connection(dbapi_connection: Any, record: Any) -> None:
    if isinstance(dbapi_connection, psycopg.Connection):
        load_json_as_text(dbapi_connection)
