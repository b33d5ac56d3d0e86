"""The tables Drip's statements are built against.

The DDL lives in each dialect's numbered migrations; these SQLAlchemy Core
definitions describe the same tables so that statements can be built once and
compiled for any dialect. A dialect supplies the column types that differ
(timestamps and JSON documents), so each dialect gets its own ``Tables``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from drip.states import JobState

__all__ = [
    "ColumnTypes",
    "JSONText",
    "Tables",
    "UTCDateTime",
    "define_tables",
    "state_in",
]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime stored as the database's timestamp type.

    Naive datetimes are refused on the way in (a guess about their zone would
    be silently wrong); values come back aware, in UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if isinstance(value, datetime) and value.tzinfo is UTC:
            return value
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONText(TypeDecorator[str]):
    """A JSON document passed to and from the database as JSON text.

    Serializers produce the text; a dialect whose driver decodes JSON itself
    must hand the text back undecoded (see drip-postgres).
    """

    impl = sa.Text
    cache_ok = True


@dataclasses.dataclass(frozen=True)
class ColumnTypes:
    """The column types a dialect chooses for timestamps and JSON documents."""

    timestamp: TypeEngine[datetime] = dataclasses.field(default_factory=UTCDateTime)
    json: TypeEngine[str] = dataclasses.field(default_factory=JSONText)


@dataclasses.dataclass(frozen=True)
class Tables:
    """Drip's tables, typed for one dialect."""

    metadata: sa.MetaData
    job: sa.Table
    queue: sa.Table
    migration: sa.Table
    leader: sa.Table
    periodic: sa.Table


def define_tables(types: ColumnTypes) -> Tables:
    """Describe Drip's tables with the column types of one dialect."""
    metadata = sa.MetaData()
    timestamp = types.timestamp
    json = types.json

    job = sa.Table(
        "drip_job",
        metadata,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(128), nullable=False),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("args", json, nullable=False),
        sa.Column("metadata", json, nullable=False),
        sa.Column("tags", json, nullable=False),
        sa.Column("errors", json, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("scheduled_at", timestamp, nullable=False),
        sa.Column("attempted_at", timestamp),
        sa.Column("finalized_at", timestamp),
        sa.Column("heartbeat_at", timestamp),
        sa.Column("cancel_requested_at", timestamp),
        sa.Column("worker_id", sa.String(255)),
        sa.Column("unique_key", sa.String(64)),
        sa.Column("unique_states", sa.Integer),
        sa.Column("unique_active_key", sa.String(64), sa.Computed("unique_key")),
        sa.Column("timeout_ms", sa.BigInteger),
        sa.Column("ttl_ms", sa.BigInteger),
        sa.Column("ephemeral", sa.Boolean, nullable=False),
    )

    queue = sa.Table(
        "drip_queue",
        metadata,
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("metadata", json, nullable=False),
        sa.Column("paused_at", timestamp),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
    )

    migration = sa.Table(
        "drip_migration",
        metadata,
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("applied_at", timestamp, nullable=False),
    )

    leader = sa.Table(
        "drip_leader",
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("leader_id", sa.String(255)),
        sa.Column("elected_at", timestamp),
        sa.Column("expires_at", timestamp, nullable=False),
    )

    periodic = sa.Table(
        "drip_periodic",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(128), nullable=False),
        sa.Column("last_slot", timestamp),
        sa.Column("updated_at", timestamp, nullable=False),
    )

    return Tables(
        metadata=metadata,
        job=job,
        queue=queue,
        migration=migration,
        leader=leader,
        periodic=periodic,
    )


def state_in(column: sa.Column[str], *states: JobState) -> ColumnElement[bool]:
    """``column`` holds one of ``states``, written into the SQL text as literals.

    PostgreSQL uses a partial index (``WHERE state = 'available'``) only when
    it can prove the query's condition implies the index's; a bound parameter
    defeats that proof in the generic plan of a prepared statement.
    """
    literals = [sa.literal_column(f"'{state.value}'") for state in states]
    if len(literals) == 1:
        return column == literals[0]
    return column.in_(literals)
