"""Drip's PostgreSQL dialect, registered with drip-core through the ``drip`` entry point."""

from drip import hookimpl
from drip_postgres.dialect import PostgresDialect

__all__ = ["PostgresDialect"]


@hookimpl
def drip_dialects() -> list[type[PostgresDialect]]:
    return [PostgresDialect]
