"""Bulk inserts on PostgreSQL: chunked unnest statements, rows still in order."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from drip import Client, JobSpec, Unique
from drip_postgres.bulk import CHUNK_SIZE


def test_a_mixed_batch_of_several_chunks_keeps_order_and_reports_duplicates(
    pg_client: Client, pg_queue: str
) -> None:
    held = pg_client.insert("once", {"k": 1}, queue=pg_queue, unique=Unique())
    specs = [
        JobSpec(kind="plain", args={"n": n, "text": "Zoë ✓ 😀"}, queue=pg_queue)
        for n in range(CHUNK_SIZE + 10)
    ]
    specs.insert(
        7, JobSpec(kind="once", args={"k": 1}, queue=pg_queue, unique=Unique())
    )
    specs.insert(9, JobSpec(kind="fresh", queue=pg_queue, unique=Unique()))

    results = pg_client.insert_many(specs)

    assert [result.job.kind for result in results] == [spec.kind for spec in specs]
    assert results[7].duplicate and results[7].id == held.id
    assert not results[9].duplicate
    plain = [result.job for result in results if result.job.kind == "plain"]
    assert [job.args["n"] for job in plain] == list(range(CHUNK_SIZE + 10))
    assert plain[0].args["text"] == "Zoë ✓ 😀"
    assert len({job.created_at for job in plain[:CHUNK_SIZE]}) == 1
    assert all(job.scheduled_at == job.created_at for job in plain)
    assert pg_client.get(plain[0].id) == plain[0]
    assert pg_client.get(plain[-1].id) == plain[-1]


def test_ids_follow_the_order_of_the_batch(pg_client: Client, pg_queue: str) -> None:
    specs = [JobSpec(kind="ordered", args={"n": n}, queue=pg_queue) for n in range(50)]

    results = pg_client.insert_many(specs)

    job = pg_client.dialect.tables.job
    with pg_client.transaction(read_only=True) as connection:
        stored = connection.execute(
            sa.select(job.c.id, job.c.args).where(
                job.c.id.in_([result.id for result in results])
            )
        ).all()
    by_id = sorted((id_, json.loads(args)["n"]) for id_, args in stored)
    assert by_id == [(result.id, n) for n, result in enumerate(results)]


def test_a_plain_insert_is_one_statement_outside_a_transaction(
    pg_client: Client, pg_queue: str
) -> None:
    pg_client.insert("warm", queue=pg_queue)
    statements = _statements(pg_client, lambda: pg_client.insert("one", queue=pg_queue))

    assert len(statements) == 1
    assert "pg_notify" in statements[0].text
    assert statements[0].autocommit


def test_a_unique_insert_runs_in_a_transaction(
    pg_client: Client, pg_queue: str
) -> None:
    statements = _statements(
        pg_client, lambda: pg_client.insert("once", queue=pg_queue, unique=Unique())
    )

    assert statements and not any(statement.autocommit for statement in statements)
    assert "pg_notify" in statements[-1].text


@dataclasses.dataclass
class _Statement:
    text: str
    autocommit: bool


def _statements(client: Client, action: Callable[[], object]) -> list[_Statement]:
    """The statements ``action`` runs, and whether each ran outside a transaction."""
    seen: list[_Statement] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(_Statement(statement, cursor.connection.autocommit))

    sa.event.listen(client.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(client.engine, "before_cursor_execute", record)
    return seen
