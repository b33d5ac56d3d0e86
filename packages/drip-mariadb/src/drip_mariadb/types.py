"""Column types for MariaDB: UTC timestamps in DATETIME(6) columns.

MariaDB's DATETIME has no time zone, so Drip stores UTC in it: aware
datetimes are converted to UTC and written without a zone, and values read
back are marked as UTC. Fractional seconds are kept to the microsecond.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects.mysql import DATETIME
from sqlalchemy.types import TypeDecorator

__all__ = ["UTCDateTime6"]


class UTCDateTime6(TypeDecorator[datetime]):
    """An aware UTC datetime stored in a ``DATETIME(6)`` column."""

    impl = DATETIME(fsp=6)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return value.replace(tzinfo=UTC)
