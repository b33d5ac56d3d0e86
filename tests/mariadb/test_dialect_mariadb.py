"""MariaDB specifics: server checks, URL forms and error translation."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from drip import Client, ServerTooOld
from drip_mariadb import MariaDBDialect


def _server(version: tuple[object, ...], *, mariadb: bool = True) -> sa.Connection:
    dialect = SimpleNamespace(server_version_info=version, is_mariadb=mariadb)
    return SimpleNamespace(dialect=dialect)  # type: ignore[return-value]


def test_mariadb_older_than_10_6_is_refused_naming_skip_locked() -> None:
    with pytest.raises(ServerTooOld, match=r"10\.6 or newer.*SKIP LOCKED"):
        MariaDBDialect().check_server(_server((10, 5, 8, "MariaDB")))
    with pytest.raises(ServerTooOld, match="not MariaDB"):
        MariaDBDialect().check_server(_server((8, 0, 36), mariadb=False))
    MariaDBDialect().check_server(_server((10, 6, 0, "MariaDB")))


def test_mysql_url_form_reaches_the_same_dialect(maria_client: Client) -> None:
    url = maria_client.url.set(drivername="mysql+pymysql")
    with Client(url) as client:
        assert isinstance(client.dialect, MariaDBDialect)
        assert client.count_by_state() is not None
