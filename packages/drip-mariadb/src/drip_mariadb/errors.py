"""Turning PyMySQL's errors into Drip's, in one place.

MariaDB identifies errors by number (the first argument of every PyMySQL
error); the number, not the message text, decides which Drip error a driver
error becomes.
"""

from __future__ import annotations

import pymysql
import sqlalchemy as sa

from drip.exceptions import (
    ConnectionLost,
    DatabaseError,
    DripError,
    SchemaMissing,
    UniqueConflict,
    ValidationError,
)

__all__ = ["translate_error"]

DUPLICATE_ENTRY = 1062
NO_SUCH_TABLE = 1146
CHECK_CONSTRAINT_FAILED = 4025
JSON_COLUMNS = ("args", "metadata", "errors", "tags")
UNIQUE_ACTIVE_KEY_INDEX = "drip_job_unique_active_key"

# Refused or failed connections, a server that went away or killed the
# connection, a shutdown in progress, an idle connection closed by the server.
_CONNECTION_ERRORS = frozenset({1053, 1927, 2002, 2003, 2006, 2013, 2055, 4031})


def translate_error(error: BaseException) -> DripError | None:
    """The Drip error for a PyMySQL error (raw or wrapped by SQLAlchemy), or None."""
    original = getattr(error, "orig", None) or error
    if not isinstance(original, pymysql.err.Error):
        return None

    code = original.args[0] if original.args else None
    message = str(original.args[1]) if len(original.args) > 1 else str(original)
    if code == DUPLICATE_ENTRY and UNIQUE_ACTIVE_KEY_INDEX in message:
        return UniqueConflict()
    if code == CHECK_CONSTRAINT_FAILED and any(
        f"drip_job.{column}" in message or f"`{column}`" in message
        for column in JSON_COLUMNS
    ):
        return ValidationError(
            f"MariaDB refused a JSON document ({message}): its JSON columns accept at "
            "most 32 levels of nesting; flatten the args, metadata or output"
        )
    if code == NO_SUCH_TABLE and "drip_" in message:
        return SchemaMissing(message)
    if _is_connection_error(error, original, code):
        return ConnectionLost(f"lost the connection to MariaDB: {message}")
    return DatabaseError(message)


def _is_connection_error(
    error: BaseException, original: pymysql.err.Error, code: object
) -> bool:
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    if code in _CONNECTION_ERRORS:
        return True
    return isinstance(original, pymysql.err.InterfaceError)
