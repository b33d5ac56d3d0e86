"""Drip on MariaDB (10.6 or newer) through PyMySQL.

Claims select due jobs with ``FOR UPDATE SKIP LOCKED`` in the order of the
``drip_job_fetch`` index (queue, state, priority, scheduled_at, id), so the
server reads and locks only the rows it returns and a concurrent claimer takes
other jobs at once; the claimed ids are then updated and read back (MariaDB
has no ``UPDATE ... RETURNING``). Engines created here use READ COMMITTED, as
PostgreSQL does by default, so that a locking read takes no gap locks that
would hold up concurrent inserts. Every timestamp Drip compares comes from
``UTC_TIMESTAMP(6)``, the server's clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from drip.dialect import Dialect, InsertedJob, NewJob
from drip.exceptions import DatabaseError, DripError, ServerTooOld
from drip.plan import Plan, Step
from drip.schema import ColumnTypes
from drip_mariadb import errors
from drip_mariadb.types import UTCDateTime6

__all__ = ["MINIMUM_VERSION", "MariaDBDialect"]

MINIMUM_VERSION = (10, 6)
MIGRATION_LOCK_TIMEOUT_SECONDS = 300
_NOW_SQL = "UTC_TIMESTAMP(6)"
_DUPLICATE_FLAG = "@drip_duplicate"


class MariaDBDialect(Dialect):
    name = "mariadb"
    package = "drip-mariadb"
    url_backends = frozenset({"mariadb", "mysql"})
    migrations_package = "drip_mariadb.migrations"
    supports_skip_locked = True
    column_types = ColumnTypes(timestamp=UTCDateTime6())

    # -- connection set-up ---------------------------------------------------

    def create_engine(self, url: sa.URL, **options: Any) -> Engine:
        if "charset" not in url.query:
            url = url.update_query_dict({"charset": "utf8mb4"})
        options.setdefault("isolation_level", "READ COMMITTED")
        options.setdefault("pool_recycle", 3600)
        return super().create_engine(url, **options)

    def check_server(self, connection: sa.Connection) -> None:
        dialect = connection.dialect
        version = tuple(
            part for part in dialect.server_version_info or () if isinstance(part, int)
        )
        shown = ".".join(str(part) for part in version) or "unknown"
        if not getattr(dialect, "is_mariadb", False):
            raise ServerTooOld(
                f"the server is MySQL {shown}, not MariaDB: drip-mariadb needs "
                "MariaDB 10.6 or newer (it relies on INSERT ... RETURNING and "
                "MariaDB's generated-column syntax)"
            )
        if version < MINIMUM_VERSION:
            raise ServerTooOld(
                f"MariaDB {shown} is too old: Drip needs 10.6 or newer, the first "
                "release with SELECT ... FOR UPDATE SKIP LOCKED, which lets "
                "concurrent workers claim different jobs without waiting for "
                "each other"
            )

    def translate_error(self, error: Exception) -> DripError | None:
        return errors.translate_error(error)

    # -- the database's clock -------------------------------------------------

    def now(self) -> ColumnElement[datetime]:
        return sa.literal_column(_NOW_SQL, type_=UTCDateTime6())

    def seconds_from_now(self, seconds: float) -> ColumnElement[datetime]:
        microseconds = sa.literal(round(seconds * 1_000_000), sa.BigInteger)
        expression = sa.func.timestampadd(
            sa.literal_column("MICROSECOND"), microseconds, sa.literal_column(_NOW_SQL)
        )
        return sa.type_coerce(expression, UTCDateTime6())

    # -- migrations ------------------------------------------------------------

    def lock_migrations(self) -> Plan[None]:
        """Take a named lock for this database; GET_LOCK waits up to the timeout."""
        got = yield sa.select(
            sa.func.get_lock(_migration_lock_name(), MIGRATION_LOCK_TIMEOUT_SECONDS)
        )
        if got.scalar() != 1:
            raise DatabaseError(
                "timed out waiting for another process to finish migrating "
                f"(waited {MIGRATION_LOCK_TIMEOUT_SECONDS}s for the migration lock)"
            )

    def unlock_migrations(self) -> Plan[None]:
        yield sa.select(sa.func.release_lock(_migration_lock_name()))

    # -- inserting ---------------------------------------------------------------

    def claim_index_hint(self, statement: sa.Select[Any]) -> sa.Select[Any]:
        """Force the claim onto ``drip_job_fetch``.

        With few rows, or statistics from another moment, the optimizer may pick
        ``drip_job_due`` and sort: a locking read then locks every candidate,
        and concurrent claimers wait for each other instead of skipping.
        """
        return statement.with_hint(
            self.tables.job, "FORCE INDEX (drip_job_fetch)", dialect_name="mysql"
        ).with_hint(
            self.tables.job, "FORCE INDEX (drip_job_fetch)", dialect_name="mariadb"
        )

    def insert_ignoring_duplicate(self) -> sa.Insert:
        """An insert that leaves the holder of a held unique key untouched.

        MariaDB's RETURNING then returns the holder's row rather than nothing,
        which is why ``insert_unique_job`` marks duplicates with a flag.
        """
        return mysql_insert(self.tables.job).on_duplicate_key_update(
            id=sa.literal_column(f"IF(({_DUPLICATE_FLAG} := 1) = 1, id, id)")
        )

    def queue_upsert_statement(
        self, values: dict[str, Any], update: dict[str, Any]
    ) -> sa.Executable:
        """Insert a queue row or update it; the name is its only unique key."""
        statement = mysql_insert(self.tables.queue).values(values)
        return statement.on_duplicate_key_update(update)

    def insert_unique_job(self, job: NewJob) -> Plan[InsertedJob]:
        """Insert one unique job, or return its key's holder, in one statement.

        Not INSERT IGNORE: that would also turn failed checks and truncated
        values into warnings. ON DUPLICATE KEY UPDATE fires only for a held
        unique key (ids are generated, so never duplicated), and its update
        clause, which changes nothing, sets a session variable that RETURNING
        reports, telling a duplicate from a fresh row.
        """
        yield sa.text(f"SET {_DUPLICATE_FLAG} = 0")
        result = yield Step(
            self.unique_insert_statement().returning(
                *self.job_columns,
                sa.literal_column(_DUPLICATE_FLAG, sa.Integer).label("drip_duplicate"),
            ),
            self._insert_values(job),
        )
        row = result.one()
        return InsertedJob(row, duplicate=bool(row.drip_duplicate))


def _migration_lock_name() -> ColumnElement[str]:
    return sa.func.concat("drip_migrate:", sa.func.database())
