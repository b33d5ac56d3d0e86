"""``drip bench`` end to end on SQLite with tiny sizes: it runs and writes JSON.

Only that it works is checked here; how fast is never asserted in tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drip.bench import WORKLOADS
from tests.workers import drip_command


@pytest.mark.slow
def test_bench_runs_every_workload_and_writes_json(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    result = drip_command(
        "bench",
        "--url",
        f"sqlite:///{tmp_path / 'bench.sqlite3'}",
        "--jobs=30",
        "--single-jobs=5",
        "--bulk-jobs=20",
        "--bulk-batch=10",
        "--steady-seconds=1",
        "--steady-rate=20",
        "--latency-jobs=3",
        "--poll-interval=50ms",
        "--worker-log-level=WARNING",
        "--json",
        str(output),
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(output.read_text())
    assert set(report["workloads"]) == set(WORKLOADS)
    assert report["machine"]["database"] == "sqlite"
    burn_down = report["workloads"]["burn-down"]["runs"][0]
    assert burn_down["jobs"] == 30
    assert burn_down["jobs_per_second"] > 0
    assert report["workloads"]["latency"]["runs"][0]["jobs"] == 3
    for name in WORKLOADS:
        assert name in result.stdout
