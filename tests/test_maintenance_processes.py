"""Maintenance across real processes: crashes, periodic slots, the supervisor."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from drip import Client, JobSpec
from tests.workers import (
    ProcessOutput,
    executions,
    reset_executions,
    start_worker,
    wait_for,
    write_handlers,
)

pytestmark = pytest.mark.slow

FAST_MAINTENANCE = (
    "--poll-interval",
    "100ms",
    "--heartbeat-interval",
    "300ms",
    "--rescue-after",
    "10s",
    "--maintenance-interval",
    "300ms",
    "--leader-lease",
    "2s",
)


@pytest.fixture
def fresh(client: Client) -> Client:
    """An emptied, migrated client with an empty execution table."""
    reset_executions(client)
    return client


def test_a_killed_worker_loses_no_job_and_none_runs_twice_at_once(
    fresh: Client, drip_url: str, tmp_path: Path
) -> None:
    module = write_handlers(tmp_path)
    fresh.insert_many(
        JobSpec(kind="record_run", args={"seconds": 0.01}) for _ in range(5000)
    )
    logs = [tmp_path / f"worker-{n}.log" for n in range(4)]
    workers = [
        start_worker(
            drip_url,
            tmp_path,
            "--concurrency",
            "10",
            *FAST_MAINTENANCE,
            module=module,
            log=log,
        )
        for log in logs
    ]
    victim = workers[0]
    try:
        wait_for(lambda: len(executions(fresh)) >= 800, timeout=120)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        killed_at = time.time()
        wait_for(lambda: _completed(fresh, "record_run") == 5000, timeout=300)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=120)
        outputs = [log.read_text() for log in logs]

    for worker, output in zip(workers[1:], outputs[1:], strict=True):
        assert worker.returncode == 0, output[-3000:]
    runs = defaultdict(list)
    for row in executions(fresh):
        runs[row.job_id].append(row)
    assert len(runs) == 5000
    for job_id, job_runs in runs.items():
        for earlier, later in itertools.pairwise(job_runs):
            ended = earlier.finished if earlier.finished is not None else killed_at
            assert earlier.pid == victim.pid, (
                f"job {job_id} ran twice on live workers: {fresh.get(job_id)}"
            )
            assert ended <= later.started, f"job {job_id} ran twice at the same time"
    rescued = [job for job in fresh.list(limit=10_000) if job.errors]
    assert rescued, "the killed worker had running jobs that were rescued"
    assert {job.errors[-1].type for job in rescued} == {"worker_lost"}


def test_four_processes_enqueue_each_periodic_slot_once(
    fresh: Client, drip_url: str, tmp_path: Path
) -> None:
    write_handlers(tmp_path)
    workers = [
        start_worker(
            drip_url,
            tmp_path,
            *FAST_MAINTENANCE,
            module="drip_test_periodic",
            log=tmp_path / f"worker-{n}.log",
        )
        for n in range(4)
    ]
    try:
        wait_for(
            lambda: len(fresh.list(kinds=["tick"], states=["completed"])) >= 5,
            timeout=60,
        )
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)

    slots = sorted(job.scheduled_at for job in fresh.list(kinds=["tick"]))
    assert len(slots) == len(set(slots))
    assert all(slot.microsecond == 0 for slot in slots)
    assert all((b - a).total_seconds() == 1 for a, b in itertools.pairwise(slots))


def test_supervisor_restarts_a_dead_worker_and_drains_on_sigterm(
    fresh: Client, drip_url: str, tmp_path: Path
) -> None:
    with _supervised(drip_url, tmp_path, "--processes", "2") as (supervisor, output):
        first, second = _worker_pids(output, 2)
        os.kill(first, signal.SIGKILL)
        replacement = _worker_pids(output, 3)[2]
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=90)

    assert supervisor.returncode == 0, output.text[-3000:]
    assert "exited with -9; restarting" in output.rest()
    for pid in (second, replacement):
        wait_for(lambda pid=pid: not _alive(pid), timeout=30)


def test_workers_do_not_outlive_a_killed_supervisor(
    fresh: Client, drip_url: str, tmp_path: Path
) -> None:
    with _supervised(drip_url, tmp_path, "--processes", "2") as (supervisor, output):
        pids = _worker_pids(output, 2)
        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait(timeout=30)
        for pid in pids:
            wait_for(lambda pid=pid: not _alive(pid), timeout=60)


def _completed(client: Client, kind: str) -> int:
    return len(client.list(kinds=[kind], states=["completed"], limit=10_000))


@contextlib.contextmanager
def _supervised(
    url: str, directory: Path, *options: str
) -> Iterator[tuple[subprocess.Popen[str], ProcessOutput]]:
    """``drip run`` under its supervisor, killed on the way out if still alive."""
    supervisor = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drip",
            "run",
            write_handlers(directory),
            "--url",
            url,
            *FAST_MAINTENANCE,
            *options,
        ],
        cwd=directory,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield supervisor, ProcessOutput(supervisor)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()


def _worker_pids(output: ProcessOutput, count: int) -> list[int]:
    """The first ``count`` worker processes the supervisor reports starting."""
    found = output.wait_for(r"started worker process (\d+)", count=count)
    return [int(match[1]) for match in found]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
