"""PostgreSQL's plan for a claim: the partial fetch index, then the primary key.

A prepared statement may run on a generic plan, in which bound parameters
are unknown; the claim must still use the partial index (its state is a
literal in the SQL text) and find the claimed rows by primary key rather than
by scanning the table.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg as numbered

from drip import Client, JobSpec


def _generic_plan(client: Client, statement: sa.Executable, values: dict) -> str:
    """EXPLAIN a statement prepared with $n parameters, forced onto a generic plan."""
    compiled = statement.compile(
        dialect=numbered.dialect(), compile_kwargs={"render_postcompile": True}
    )
    parameters = compiled.construct_params(values)
    arguments = ", ".join(
        _literal(parameters[name]) for name in compiled.positiontup or ()
    )
    with client.engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql(f"PREPARE drip_claim_plan AS {compiled.string}")
        rows = connection.exec_driver_sql(
            f"EXPLAIN EXECUTE drip_claim_plan({arguments})"
        ).all()
        connection.exec_driver_sql("DEALLOCATE drip_claim_plan")
        connection.rollback()
    return "\n".join(row[0] for row in rows)


def _literal(value: object) -> str:
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(str(int(item)) for item in value) + "]::bigint[]"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


@pytest.mark.parametrize("excluding", [False, True])
def test_a_claim_uses_the_fetch_index_and_the_primary_key(
    pg_client: Client, pg_queue: str, excluding: bool
) -> None:
    pg_client.insert_many([JobSpec(kind="noop", queue=pg_queue)] * 3_000)
    with pg_client.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE drip_job"
        )
    values = {
        "claim_queue": pg_queue,
        "claim_limit": 10,
        "claim_worker_id": "plan-test",
        "claim_exclude": [1, 2, 3],
    }

    plan = _generic_plan(
        pg_client, pg_client.dialect._claim_statement(excluding), values
    )

    assert "drip_job_fetch" in plan, plan
    assert "drip_job_pkey" in plan, plan
    assert "Seq Scan" not in plan, plan
