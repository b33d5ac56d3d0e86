"""100,000 jobs in one insert_many call, in order and in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drip.testing import empty_client

MEASURE = Path(__file__).parent / "bulk_insert_measure.py"
MAX_PEAK_RSS_MB = 1_024


@pytest.mark.slow
def test_100k_jobs_in_one_call_with_bounded_memory(drip_url: str) -> None:
    with empty_client(drip_url) as client:
        url = client.url.render_as_string(hide_password=False)
    finished = subprocess.run(
        [sys.executable, str(MEASURE), url, "bulk", "100000"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(finished.stdout.strip().splitlines()[-1])
    print(f"bulk insert on {url}: {report}")

    assert report["count"] == 100_000 and report["in_order"]
    assert report["peak_rss_mb"] < MAX_PEAK_RSS_MB
