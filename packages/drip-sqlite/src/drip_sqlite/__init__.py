"""Drip's SQLite dialect, registered with drip-core through the ``drip`` entry point."""

from drip import hookimpl
from drip_sqlite.dialect import SQLiteDialect

__all__ = ["SQLiteDialect"]


@hookimpl
def drip_dialects() -> list[type[SQLiteDialect]]:
    return [SQLiteDialect]
