"""Column types for MariaDB: UTC timestamps in DATETIME(6) columns.

MariaDB's DATETIME has no time zone, so Drip stores UTC in it: aware
datetimes are converted to UTC and written without a zone, and values read
back are marked as UTC. Fractional seconds are kept to the microsecond.
"""

from __future__ import annotations

from sqlalchemy.dialects.mysql import DATETIME

from drip.schema import UTCDateTime

__all__ = ["UTCDateTime6"]


class UTCDateTime6(UTCDateTime):
    """An aware UTC datetime stored in a ``DATETIME(6)`` column, without a zone."""

    impl = DATETIME(fsp=6)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        value = super().process_bind_param(value, dialect)
        return None if value is None else value.replace(tzinfo=None)
