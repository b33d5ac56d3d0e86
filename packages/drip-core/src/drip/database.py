"""Choosing a dialect for a database URL and creating its engine."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from drip.dialect import Dialect
from drip.exceptions import (
    ConfigurationError,
    ConnectionLost,
    DialectNotInstalled,
)
from drip.plan import driver_reason

__all__ = [
    "DEFAULT_URL",
    "connect",
    "database_url",
    "dialect_for_url",
    "open_database",
]

DEFAULT_URL = "sqlite:///drip.sqlite3"
"""The embedded default: a SQLite file in the working directory."""

URL_ENVIRONMENT_VARIABLE = "DRIP_DATABASE_URL"

# Which package to suggest when no installed dialect handles a URL's backend.
_PACKAGE_FOR_BACKEND = {
    "postgresql": "drip-postgres",
    "mysql": "drip-mariadb",
    "mariadb": "drip-mariadb",
    "sqlite": "drip-sqlite",
}


def database_url(url: str | sa.URL | None = None) -> sa.URL:
    """The URL to use: the one given, else ``DRIP_DATABASE_URL``, else the default."""
    chosen = url or os.environ.get(URL_ENVIRONMENT_VARIABLE) or DEFAULT_URL
    try:
        return sa.make_url(chosen)
    except sa.exc.ArgumentError:
        raise ConfigurationError(
            f"cannot parse database URL {str(chosen)!r}; expected a SQLAlchemy URL "
            "such as sqlite:///drip.sqlite3, postgresql+psycopg://user@host/db or "
            "mariadb+pymysql://user@host/db"
        ) from None


def dialect_for_url(url: sa.URL) -> Dialect:
    """An instance of the installed dialect that handles ``url``."""
    from drip.plugins import plugin_manager

    backend = url.get_backend_name()
    for contributed in plugin_manager().hook.drip_dialects():
        for dialect_class in contributed:
            if backend in dialect_class.url_backends:
                return dialect_class()

    package = _PACKAGE_FOR_BACKEND.get(backend)
    advice = (
        f"install it with `pip install {package}`"
        if package
        else "install a Drip dialect package for this database"
    )
    raise DialectNotInstalled(
        f"no installed Drip dialect handles {url.drivername!r} URLs; {advice}"
    )


# The driver each built-in dialect is tested with, for the message above.
_DRIVERS = {"postgresql": "psycopg", "mariadb": "PyMySQL", "sqlite": "sqlite3"}
_SCHEMES = {
    "postgresql": "postgresql+psycopg",
    "mariadb": "mariadb+pymysql",
    "sqlite": "sqlite",
}


def open_database(database: str | sa.URL | Engine | None) -> tuple[Engine, Dialect]:
    """An engine and its dialect, from a URL (or the default) or an existing engine."""
    if isinstance(database, Engine):
        dialect = dialect_for_url(database.url)
        dialect.configure_engine(database)
        return database, dialect

    url = database_url(database)
    dialect = dialect_for_url(url)
    try:
        return dialect.create_engine(url), dialect
    except ImportError as error:
        raise ConfigurationError(
            f"the database URL {url.render_as_string(hide_password=True)} needs "
            f"the driver {error.name or 'named in it'}, which is not installed; "
            f"{dialect.package} uses {_DRIVERS.get(dialect.name, 'its own driver')}: "
            f"write the URL as {_SCHEMES.get(dialect.name, url.drivername)}://..."
        ) from error


@contextlib.contextmanager
def connect(engine: Engine, dialect: Dialect) -> Iterator[Connection]:
    """A connection from ``engine``; failing to open one is a ``ConnectionLost``.

    The message names the database (without its password) and the driver's
    reason, so that a wrong host, port, database name or missing directory is
    one clear line rather than a driver traceback.
    """
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as error:
        translated = dialect.translate_error(error)
        if translated is not None and not isinstance(translated, ConnectionLost):
            raise translated from error
        where = engine.url.render_as_string(hide_password=True)
        raise ConnectionLost(
            f"cannot connect to {where}: {driver_reason(error)}"
        ) from error
    with connection:
        yield connection
