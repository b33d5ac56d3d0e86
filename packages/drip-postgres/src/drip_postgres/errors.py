"""Turning psycopg's errors into Drip's, in one place.

PostgreSQL reports every error with a SQLSTATE code; the code, not the
message text, decides which Drip error a driver error becomes.
"""

from __future__ import annotations

import psycopg
import sqlalchemy as sa

from drip.exceptions import (
    ConnectionLost,
    DatabaseError,
    DripError,
    SchemaMissing,
    UniqueConflict,
)

__all__ = ["translate_error"]

UNIQUE_VIOLATION = "23505"
UNDEFINED_TABLE = "42P01"
UNIQUE_ACTIVE_KEY_INDEX = "drip_job_unique_active_key"

# Class 08 is "connection exception"; 57P01-57P03 mean the server is shutting
# down or restarting, which to a client is also a lost connection.
_CONNECTION_STATES = frozenset({"57P01", "57P02", "57P03"})


def translate_error(error: BaseException) -> DripError | None:
    """The Drip error for a psycopg error (raw or wrapped by SQLAlchemy), or None."""
    original = getattr(error, "orig", None) or error
    if not isinstance(original, psycopg.Error):
        return None

    state = original.sqlstate or ""
    message = str(original).strip()
    if state == UNIQUE_VIOLATION and _constraint(original) == UNIQUE_ACTIVE_KEY_INDEX:
        return UniqueConflict()
    if state == UNDEFINED_TABLE and "drip_" in message:
        return SchemaMissing(message)
    if _is_connection_error(error, original, state):
        return ConnectionLost(f"lost the connection to PostgreSQL: {message}")
    return DatabaseError(message)


def _constraint(error: psycopg.Error) -> str | None:
    return error.diag.constraint_name if error.diag is not None else None


def _is_connection_error(
    error: BaseException, original: psycopg.Error, state: str
) -> bool:
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    if state.startswith("08") or state in _CONNECTION_STATES:
        return True
    # A connection that failed before any SQLSTATE arrived (refused, closed).
    return not state and isinstance(
        original, psycopg.OperationalError | psycopg.InterfaceError
    )
