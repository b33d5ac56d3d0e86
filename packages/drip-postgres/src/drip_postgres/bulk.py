"""Bulk inserts through COPY: many plain jobs in one pass, in bounded memory.

COPY cannot return the rows it writes, so ids are reserved from the table's
sequence first, one per job in the caller's order, and the rows are read back
by id in chunks afterwards. The database's clock is read once, so every job
of the batch gets the same ``created_at`` (and that ``scheduled_at`` when it
has none), exactly as a single multi-row INSERT would give them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row

from drip.dialect import NewJob
from drip.exceptions import DatabaseError
from drip.plan import DriverCall, Plan
from drip_postgres.errors import translate_error

if TYPE_CHECKING:
    from drip_postgres.dialect import PostgresDialect

__all__ = ["COPY_THRESHOLD", "copy_jobs"]

COPY_THRESHOLD = 1_000
"""Batches with at least this many plain (non-unique) jobs are inserted by COPY."""

READ_BACK_CHUNK = 5_000

_COPY_COLUMNS = (
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
    "timeout_ms",
    "ttl_ms",
    "ephemeral",
)


def copy_jobs(dialect: PostgresDialect, jobs: Sequence[NewJob]) -> Plan[list[Row[Any]]]:
    """Insert ``jobs`` (none of them unique) by COPY; return their rows in order."""
    table = dialect.tables.job
    sequence = sa.func.pg_get_serial_sequence(table.name, "id")
    reserved = yield sa.select(sa.func.nextval(sequence)).select_from(
        sa.func.generate_series(1, len(jobs))
    )
    ids = sorted(reserved.scalars().all())
    now = (yield sa.select(dialect.now())).scalar_one()

    yield DriverCall(functools.partial(_copy, jobs=jobs, ids=ids, now=now))

    rows: list[Row[Any]] = []
    for start in range(0, len(ids), READ_BACK_CHUNK):
        chunk = ids[start : start + READ_BACK_CHUNK]
        wanted = sa.bindparam("ids", chunk, type_=ARRAY(sa.BigInteger))
        result = yield (
            sa.select(*dialect.job_columns)
            .where(table.c.id == sa.any_(wanted))
            .order_by(table.c.id)
        )
        rows.extend(result.all())
    return rows


def _copy(
    connection: psycopg.Connection[Any],
    *,
    jobs: Sequence[NewJob],
    ids: Sequence[int],
    now: datetime,
) -> None:
    statement = f"COPY drip_job ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    try:
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            for job_id, job in zip(ids, jobs, strict=True):
                copy.write_row(_copy_row(job_id, job, now))
    except psycopg.Error as error:
        raise (translate_error(error) or DatabaseError(str(error))) from error


def _copy_row(job_id: int, job: NewJob, now: datetime) -> tuple[Any, ...]:
    return (
        job_id,
        job.kind,
        job.queue,
        job.state.value,
        job.priority,
        job.args,
        job.metadata,
        job.tags,
        "[]",
        0,
        job.max_attempts,
        now,
        job.scheduled_at or now,
        job.timeout_ms,
        job.ttl_ms,
        job.ephemeral,
    )
