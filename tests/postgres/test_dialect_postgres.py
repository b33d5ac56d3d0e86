"""PostgreSQL specifics: server checks and error translation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from drip import Client, ServerTooOld
from drip_postgres import PostgresDialect
from tests.servers import server_reporting


def test_postgresql_older_than_12_is_refused() -> None:
    with pytest.raises(ServerTooOld, match="12 or newer"):
        PostgresDialect().check_server(server_reporting((11, 22)))
    PostgresDialect().check_server(server_reporting((12, 0)))


def test_drip_engines_use_utc_sessions_and_application_engines_keep_theirs(
    pg_client: Client, pg_queue: str
) -> None:
    inserted = pg_client.insert("noop", queue=pg_queue)
    application = sa.create_engine(
        pg_client.url, connect_args={"options": "-c TimeZone=Asia/Kolkata"}
    )
    try:
        with application.connect() as connection:
            zone = connection.exec_driver_sql("SHOW TimeZone").scalar_one()
        from_application = Client(application).get(inserted.id)
    finally:
        application.dispose()
    with pg_client.engine.connect() as connection:
        drip_zone = connection.exec_driver_sql("SHOW TimeZone").scalar_one()

    assert drip_zone == "UTC"
    assert zone == "Asia/Kolkata"
    assert from_application is not None
    assert from_application.created_at == inserted.job.created_at
    assert from_application.created_at.utcoffset() == timedelta(0)


def test_postgresql_rebuilds_every_drip_job_index(pg_client: Client) -> None:
    """The conformance suite runs these statements; here, that there are some."""
    with pg_client.engine.connect() as connection:
        indexes = connection.exec_driver_sql(
            "SELECT indexname FROM pg_indexes "
            "WHERE tablename = 'drip_job' AND indexname <> 'drip_job_pkey'"
        ).scalars()
        names = set(indexes)

    rebuilt = {s.split()[-1] for s in pg_client.dialect.reindex_statements()}

    assert rebuilt == names
