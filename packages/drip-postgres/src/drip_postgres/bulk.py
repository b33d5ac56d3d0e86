"""Bulk inserts on PostgreSQL: one ``INSERT ... SELECT FROM unnest`` per chunk.

Each column travels as one array parameter, bound in binary format
(``BinaryArray``), and ``unnest`` turns the arrays back into rows, so the
statement's text is the same whatever the batch size: SQLAlchemy compiles it
once and psycopg prepares it once. A column whose value is the same for every
job of the chunk (usually all but args) travels as a one-element array that
every row reads, which saves most of the binding and unnesting. The statement
returns only what the database generates: the new ids, in input order, and
its clock, which is every row's ``created_at`` (and ``scheduled_at`` when
given none). The client builds each ``Job`` from what it inserted. The
statement also notifies listeners of its queues, so that inserting one job
outside a transaction is one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by

from drip.dialect import NewJob
from drip.plan import Plan, Step
from drip_postgres import listen
from drip_postgres.types import BinaryArray

if TYPE_CHECKING:
    from drip_postgres.dialect import PostgresDialect

__all__ = ["CHUNK_SIZE", "bulk_insert_statement", "insert_plain_jobs"]

CHUNK_SIZE = 10_000
"""At most this many jobs per statement, to bound each statement's memory."""

# The columns bound as arrays, with their element types.
_ARRAY_COLUMNS = (
    ("kind", "TEXT"),
    ("queue", "TEXT"),
    ("state", "TEXT"),
    ("priority", "SMALLINT"),
    ("args", "TEXT"),
    ("metadata", "TEXT"),
    ("tags", "TEXT"),
    ("max_attempts", "INTEGER"),
    ("scheduled_at", "TIMESTAMPTZ"),
    ("timeout_ms", "BIGINT"),
    ("ttl_ms", "BIGINT"),
    ("ephemeral", "BOOLEAN"),
)
_JSON_COLUMNS = frozenset({"args", "metadata", "tags"})
# Always bound whole, one element per job: it gives unnest its number of rows.
_ROW_COLUMN = "args"


def insert_plain_jobs(
    dialect: PostgresDialect, jobs: Sequence[NewJob]
) -> Plan[tuple[list[int], list[datetime | None]]]:
    """Insert ``jobs`` (none of them unique); return their ids and creation times."""
    statement = dialect.bulk_insert_statement()
    ids: list[int] = []
    created_at: list[datetime | None] = []
    for start in range(0, len(jobs), CHUNK_SIZE):
        chunk = jobs[start : start + CHUNK_SIZE]
        result = yield Step(statement, _parameters(chunk))
        chunk_ids, now, _ = result.one()
        ids.extend(chunk_ids)
        created_at.extend([now] * len(chunk))
    return ids, created_at


def bulk_insert_statement(dialect: PostgresDialect) -> sa.Executable:
    """The statement inserting one chunk of plain jobs; see the module doc."""
    job = dialect.tables.job
    arrays = [
        sa.bindparam(f"bulk_{name}", type_=BinaryArray(element))
        for name, element in _ARRAY_COLUMNS
    ]
    names = [name for name, _ in _ARRAY_COLUMNS]
    rows = sa.func.unnest(*arrays).table_valued(*names).render_derived(name="bulk")
    values: dict[str, Any] = {}
    for array, name in zip(arrays, names, strict=True):
        value = rows.c[name]
        if name != _ROW_COLUMN:
            # One element: every row takes it; else the row's own.
            only = sa.func.unnest(array).table_valued("value").render_derived()
            shared = sa.select(only.c.value).limit(1).scalar_subquery()
            one = sa.func.cardinality(array) == 1
            value = sa.case((one, shared), else_=value)
        values[name] = sa.cast(value, JSONB) if name in _JSON_COLUMNS else value
    values.update(
        # The column's value as read above: shared or the row's own.
        scheduled_at=sa.func.coalesce(values["scheduled_at"], dialect.now()),
        created_at=dialect.now(),
        errors=sa.cast(sa.literal("[]"), JSONB),
        attempt=sa.literal(0),
    )
    inserted = (
        sa.insert(job)
        .from_select(list(values), sa.select(*values.values()))
        .returning(job.c.id, job.c.queue)
        .cte("inserted")
    )
    # Ids are drawn from the sequence in the order unnest yields the rows.
    ids = sa.select(sa.func.array_agg(aggregate_order_by(inserted.c.id, inserted.c.id)))
    queues = sa.select(inserted.c.queue).distinct().subquery("queues")
    notified = sa.select(
        sa.func.count(sa.func.pg_notify(listen.CHANNEL, queues.c.queue))
    )
    return sa.select(
        ids.scalar_subquery(),
        dialect.now(),
        notified.scalar_subquery(),
    )


def _parameters(jobs: Sequence[NewJob]) -> dict[str, list[Any]]:
    return {
        "bulk_kind": _shared([job.kind for job in jobs]),
        "bulk_queue": _shared([job.queue for job in jobs]),
        "bulk_state": _shared([job.state.value for job in jobs]),
        "bulk_priority": _shared([job.priority for job in jobs]),
        "bulk_args": [job.args for job in jobs],
        "bulk_metadata": _shared([job.metadata for job in jobs]),
        "bulk_tags": _shared([job.tags for job in jobs]),
        "bulk_max_attempts": _shared([job.max_attempts for job in jobs]),
        "bulk_scheduled_at": _shared([job.scheduled_at for job in jobs]),
        "bulk_timeout_ms": _shared([job.timeout_ms for job in jobs]),
        "bulk_ttl_ms": _shared([job.ttl_ms for job in jobs]),
        "bulk_ephemeral": _shared([job.ephemeral for job in jobs]),
    }


def _shared(values: list[Any]) -> list[Any]:
    """``values`` as one element when they are all equal, else unchanged."""
    first = values[0]
    if values.count(first) == len(values):
        return [first]
    return values
