"""Several worker processes on one database run every job exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from drip import Client, JobSpec, JobState
from tests.workers import (
    executions_per_job,
    reset_side_effects,
    start_worker,
    write_handlers,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("processes", "concurrency", "jobs"), [(2, 10, 2000), (4, 10, 5000)]
)
def test_every_job_runs_exactly_once_across_processes(
    drip_url: str, tmp_path: Path, processes: int, concurrency: int, jobs: int
) -> None:
    with Client(drip_url) as client:
        client.migrate()
        from drip.testing import reset_database

        reset_database(client)
        reset_side_effects(client)
        module = write_handlers(tmp_path)
        client.insert_many(JobSpec(kind="record") for _ in range(jobs))

        workers = [
            start_worker(
                drip_url,
                tmp_path,
                "--burst",
                "--concurrency",
                str(concurrency),
                module=module,
            )
            for _ in range(processes)
        ]
        outputs = [worker.communicate(timeout=300)[0] for worker in workers]

        for worker, output in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, output
            assert "database is locked" not in output
        counts = executions_per_job(client)
        assert len(counts) == jobs
        assert set(counts.values()) == {1}
        assert client.count_by_state()[JobState.COMPLETED] == jobs
