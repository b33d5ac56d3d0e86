"""MariaDB specifics: server checks, URL forms and error translation."""

from __future__ import annotations

import pytest

from drip import Client, ServerTooOld
from drip_mariadb import MariaDBDialect
from tests.servers import server_reporting


def test_mariadb_older_than_10_6_is_refused_naming_skip_locked() -> None:
    with pytest.raises(ServerTooOld, match=r"10\.6 or newer.*SKIP LOCKED"):
        MariaDBDialect().check_server(
            server_reporting((10, 5, 8, "MariaDB"), mariadb=True)
        )
    with pytest.raises(ServerTooOld, match="not MariaDB"):
        MariaDBDialect().check_server(server_reporting((8, 0, 36)))
    MariaDBDialect().check_server(server_reporting((10, 6, 0, "MariaDB"), mariadb=True))


def test_mysql_url_form_reaches_the_same_dialect(maria_client: Client) -> None:
    url = maria_client.url.set(drivername="mysql+pymysql")
    with Client(url) as client:
        assert isinstance(client.dialect, MariaDBDialect)
        assert client.count_by_state() == maria_client.count_by_state()
