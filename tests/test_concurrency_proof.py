"""The concurrency proof: many worker processes never run a job twice or skip one.

4 worker processes with concurrency 10 share 5,000 jobs whose handler appends
a row to a side-effect table. Afterwards every job must be completed, by
exactly one execution, and none may be left behind. Runs on every dialect.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from drip import Client, JobSpec, JobState
from tests.servers import private_queue

PROCESSES = 4
JOBS = 5_000
DEADLINE_SECONDS = 240
WORKER_SCRIPT = Path(__file__).with_name("concurrency_worker.py")


@pytest.fixture
def proof_client(drip_url: str) -> Iterator[Client]:
    client = Client(drip_url)
    client.migrate()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def effects_table(proof_client: Client) -> Iterator[sa.Table]:
    """A side-effect table of this test run's own, dropped afterwards."""
    table = sa.Table(
        f"drip_test_effects_{uuid.uuid4().hex[:10]}",
        sa.MetaData(),
        sa.Column("job_id", sa.BigInteger, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
    )
    table.create(proof_client.engine)
    try:
        yield table
    finally:
        table.drop(proof_client.engine)


@pytest.fixture
def proof_queue(proof_client: Client) -> Iterator[str]:
    yield from private_queue(proof_client, "proof")


@pytest.mark.slow
def test_every_job_runs_exactly_once_across_processes(
    proof_client: Client, effects_table: sa.Table, proof_queue: str
) -> None:
    specs = [
        JobSpec(kind="record_effect", args={"n": n}, queue=proof_queue)
        for n in range(JOBS)
    ]
    inserted = {result.id for result in proof_client.insert_many(specs)}
    assert len(inserted) == JOBS

    _run_workers(proof_client.url, proof_queue, effects_table.name)

    with proof_client.engine.connect() as connection:
        executions = connection.execute(
            sa.select(effects_table.c.job_id, effects_table.c.pid)
        ).all()
    executed = [row.job_id for row in executions]
    assert len(executed) == JOBS, "some job ran twice or not at all"
    assert set(executed) == inserted
    assert len({row.pid for row in executions}) > 1, "only one process did work"

    jobs = proof_client.list(queues=[proof_queue], limit=JOBS + 1)
    assert len(jobs) == JOBS
    assert {job.state for job in jobs} == {JobState.COMPLETED}
    assert {job.attempt for job in jobs} == {1}


def _run_workers(url: sa.URL, queue: str, table: str) -> None:
    """Run the worker processes to completion, within the deadline."""
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    command = [
        sys.executable,
        str(WORKER_SCRIPT),
        url.render_as_string(hide_password=False),
        queue,
        table,
    ]
    processes = [
        subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        for process in processes:
            remaining = max(0.0, deadline - time.monotonic())
            _, errors = process.communicate(timeout=remaining)
            assert process.returncode == 0, errors[-2000:]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
