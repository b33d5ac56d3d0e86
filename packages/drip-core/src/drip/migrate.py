"""Applying a dialect's numbered migrations, once, even from many processes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from drip.database import connect
from drip.dialect import Dialect, Migration
from drip.plan import run_plan

__all__ = ["Migrator"]

logger = logging.getLogger(__name__)


class Migrator:
    """Applies pending migrations in order and records each in ``drip_migration``.

    A dialect lock keeps concurrent migrators apart, and each migration is
    re-checked inside its own transaction, so running ``drip migrate`` from
    several processes at once applies every migration exactly once.
    """

    def __init__(self, engine: Engine, dialect: Dialect) -> None:
        self.engine = engine
        self.dialect = dialect
        self.table = dialect.tables.migration

    def migrate(self) -> list[Migration]:
        applied = []
        with connect(self.engine, self.dialect) as connection:
            with connection.begin():
                self.dialect.check_server(connection)
                self._run(connection, self.dialect.lock_migrations())
            try:
                with connection.begin():
                    self.table.create(connection, checkfirst=True)
                for migration in self.dialect.migrations():
                    if self._apply(connection, migration):
                        applied.append(migration)
            finally:
                with connection.begin():
                    self._run(connection, self.dialect.unlock_migrations())
        return applied

    def sql(self) -> str:
        """The SQL of every migration, each statement ending in a semicolon."""
        parts = []
        for migration in self.dialect.migrations():
            parts.append(f"-- migration {migration.version:04d}: {migration.name}")
            parts.extend(f"{statement};" for statement in migration.statements)
        return "\n\n".join(parts) + "\n"

    def _apply(self, connection: Connection, migration: Migration) -> bool:
        with connection.begin():
            done = connection.execute(
                sa.select(self.table.c.version).where(
                    self.table.c.version == migration.version
                )
            ).first()
            if done is not None:
                return False

            for statement in migration.statements:
                connection.exec_driver_sql(_escape_percent(connection, statement))
            connection.execute(
                sa.insert(self.table).values(
                    version=migration.version,
                    name=migration.name,
                    applied_at=datetime.now(UTC),
                )
            )
        logger.debug(
            "applied migration %04d %s",
            migration.version,
            migration.name,
            extra={"action": "migrate", "version": migration.version},
        )
        return True

    def _run(self, connection: Connection, plan) -> None:  # type: ignore[no-untyped-def]
        run_plan(connection, plan, self.dialect.translate_error)


def _escape_percent(connection: Connection, statement: str) -> str:
    # exec_driver_sql passes the text to the driver, which treats % as the start
    # of a parameter when its paramstyle is "format" or "pyformat".
    if connection.dialect.paramstyle in ("format", "pyformat"):
        return statement.replace("%", "%%")
    return statement
