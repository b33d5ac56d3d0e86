"""Drip's MariaDB dialect, registered with drip-core through the ``drip`` entry point."""

from drip import hookimpl
from drip_mariadb.dialect import MariaDBDialect

__all__ = ["MariaDBDialect"]


@hookimpl
def drip_dialects() -> list[type[MariaDBDialect]]:
    return [MariaDBDialect]
