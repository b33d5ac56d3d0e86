"""Bulk inserts on MariaDB: multi-row INSERT ... RETURNING, rows in order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drip import Client

MEASURE = Path(__file__).parents[1] / "bulk_insert_measure.py"
MAX_PEAK_RSS_MB = 1_024


@pytest.mark.slow
def test_100k_jobs_in_one_call_with_bounded_memory(
    maria_client: Client, maria_queue: str
) -> None:
    report = _measure(maria_client, maria_queue, 100_000)

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
