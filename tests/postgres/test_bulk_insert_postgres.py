"""Bulk inserts on PostgreSQL: COPY for large batches, rows still in order."""

from __future__ import annotations

from drip import Client, JobSpec, Unique
from drip_postgres.bulk import COPY_THRESHOLD


def test_a_large_mixed_batch_keeps_order_and_reports_duplicates(
    pg_client: Client, pg_queue: str
) -> None:
    held = pg_client.insert("once", {"k": 1}, queue=pg_queue, unique=Unique())
    specs = [
        JobSpec(kind="plain", args={"n": n, "text": "Zoë ✓ 😀"}, queue=pg_queue)
        for n in range(COPY_THRESHOLD + 10)
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
    assert [job.args["n"] for job in plain] == list(range(COPY_THRESHOLD + 10))
    assert plain[0].args["text"] == "Zoë ✓ 😀"
    assert len({job.created_at for job in plain}) == 1
    assert all(job.scheduled_at.tzinfo is not None for job in plain)
    assert pg_client.get(plain[-1].id) == plain[-1]
