"""MariaDB specifics: server checks, URL forms and error translation."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from drip import Client, SchemaMissing, ServerTooOld, Unique, UniqueConflict
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


def test_driver_errors_become_drip_errors(
    maria_client: Client, maria_queue: str
) -> None:
    first = maria_client.insert("solo", queue=maria_queue, unique=Unique())
    _set_state(maria_client, first.id, "cancelled")
    maria_client.insert("solo", queue=maria_queue, unique=Unique())

    with pytest.raises(UniqueConflict):
        _set_state(maria_client, first.id, "available")
    with pytest.raises(SchemaMissing, match="drip migrate"):
        maria_client.run(_select_from(sa.table("drip_no_such_table", sa.column("id"))))
    assert maria_client.get(first.id) is not None


def _set_state(client: Client, job_id: int, state: str) -> None:
    job = client.dialect.tables.job

    def plan():  # type: ignore[no-untyped-def]
        yield sa.update(job).where(job.c.id == job_id).values(state=state)

    client.run(plan())


def _select_from(table: sa.TableClause):  # type: ignore[no-untyped-def]
    yield sa.select(table.c.id)
