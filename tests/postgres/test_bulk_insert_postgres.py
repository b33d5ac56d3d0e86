"""Bulk inserts on PostgreSQL: COPY for large batches, rows still in order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drip import Client, JobSpec, Unique
from drip_postgres.bulk import COPY_THRESHOLD

MEASURE = Path(__file__).parents[1] / "bulk_insert_measure.py"
MAX_PEAK_RSS_MB = 1_024


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


@pytest.mark.slow
def test_100k_jobs_in_one_call_with_bounded_memory(
    pg_client: Client, pg_queue: str
) -> None:
    report = _measure(pg_client, pg_queue, 100_000)

    assert report["count"] == 100_000 and report["in_order"]
    assert report["peak_rss_mb"] < MAX_PEAK_RSS_MB


def _measure(client: Client, queue: str, count: int) -> dict[str, object]:
    url = client.url.render_as_string(hide_password=False)
    finished = subprocess.run(
        [sys.executable, str(MEASURE), url, queue, str(count)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report: dict[str, object] = json.loads(finished.stdout.strip().splitlines()[-1])
    print(f"bulk insert on {client.dialect.name}: {report}")
    return report
