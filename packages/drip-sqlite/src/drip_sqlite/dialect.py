"""Drip on SQLite: the embedded default.

Every transaction that may write starts with ``BEGIN IMMEDIATE``, so it holds
the database's single write lock from its first statement (read-only ones, marked
with the ``drip_read_only`` execution option, use a plain ``BEGIN``). Two claimers are serialized by
that lock and can never both take a job; and since no transaction ever has to
upgrade a read lock to a write lock, ``busy_timeout`` waits out contention
instead of failing with "database is locked". WAL lets readers proceed while a
writer holds the lock.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from drip.dialect import Dialect
from drip.exceptions import (
    ConnectionLost,
    DatabaseError,
    DripError,
    SchemaMissing,
    ServerTooOld,
    UniqueConflict,
)
from drip.schema import ColumnTypes, UTCDateTime

__all__ = ["SQLiteDialect"]

BUSY_TIMEOUT_MS = 30_000
MINIMUM_VERSION = (3, 38, 0)
_NOW_SQL = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"


class SQLiteTimestamp(UTCDateTime):
    """A UTC datetime stored as fixed-width text that sorts as it compares."""

    impl = sa.String(26)  # type: ignore[assignment]  # text, not a DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        value = super().process_bind_param(value, dialect)
        if value is None:
            return None
        # isoformat pads the year to four digits; strftime("%Y") does not.
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")


class SQLiteDialect(Dialect):
    name = "sqlite"
    package = "drip-sqlite"
    url_backends = frozenset({"sqlite"})
    migrations_package = "drip_sqlite.migrations"
    supports_update_returning = True
    column_types = ColumnTypes(timestamp=SQLiteTimestamp())

    def create_engine(self, url: sa.URL, **options: Any) -> Engine:
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
        return super().create_engine(url, **options)

    def configure_engine(self, engine: Engine) -> None:
        # "checkout" also reaches connections an application's engine opened
        # before Drip was given it; preparing is done once per connection.
        sa.event.listen(engine, "connect", _prepare_connection)
        sa.event.listen(engine, "checkout", _prepare_checked_out)
        sa.event.listen(engine, "begin", _begin)

    def check_server(self, connection: sa.Connection) -> None:
        if sqlite3.sqlite_version_info < MINIMUM_VERSION:
            raise ServerTooOld(
                f"SQLite {sqlite3.sqlite_version} is too old: Drip needs 3.38 or "
                "newer (for RETURNING and built-in JSON); use a Python built "
                "against a newer SQLite"
            )

    def translate_error(self, error: Exception) -> DripError | None:
        original = getattr(error, "orig", error)
        message = str(original)
        if "no such table: drip_" in message:
            return SchemaMissing(message)
        if "UNIQUE constraint failed: drip_job.unique_active_key" in message:
            return UniqueConflict()
        if "unable to open database file" in message:
            return ConnectionLost(f"cannot open the SQLite database: {message}")
        if isinstance(original, sqlite3.Error):
            return DatabaseError(message)
        return None

    def now(self) -> ColumnElement[datetime]:
        return sa.literal_column(_NOW_SQL, type_=SQLiteTimestamp())

    def seconds_from_now(self, seconds: float) -> ColumnElement[datetime]:
        modifier = f"{seconds:+.6f} seconds"
        expression = sa.func.strftime("%Y-%m-%d %H:%M:%f", "now", modifier)
        return sa.type_coerce(expression.op("||")("000"), SQLiteTimestamp())

    def insert_ignoring_duplicate(self) -> sa.Insert:
        return sqlite_insert(self.tables.job).on_conflict_do_nothing()

    def queue_upsert_statement(
        self, values: dict[str, Any], update: dict[str, Any]
    ) -> sa.Executable:
        statement = sqlite_insert(self.tables.queue).values(values)
        return statement.on_conflict_do_update(index_elements=["name"], set_=update)


def _prepare_checked_out(
    dbapi_connection: sqlite3.Connection, record: Any, proxy: Any
) -> None:
    if not record.info.get("drip_prepared"):
        _prepare_connection(dbapi_connection, record)


def _prepare_connection(dbapi_connection: sqlite3.Connection, record: Any) -> None:
    record.info["drip_prepared"] = True
    # Leave transaction control to SQLAlchemy's "begin" event (see the module doc).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
        if mode.lower() not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _begin(connection: sa.Connection) -> None:
    if connection.get_execution_options().get("drip_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
