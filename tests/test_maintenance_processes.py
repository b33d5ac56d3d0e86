"""Maintenance across real processes: crashes, periodic slots, the supervisor."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from drip import Client, JobSpec
from drip.testing import reset_database
from tests.workers import executions, reset_side_effects, start_worker, write_handlers

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
def fresh(drip_url: str) -> Client:
    client = Client(drip_url)
    client.migrate()
    reset_database(client)
    reset_side_effects(client)
    yield client
    client.close()


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
        _wait_for(lambda: len(executions(fresh)) >= 800, timeout=120)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        killed_at = time.time()
        _wait_for(lambda: _completed(fresh, "record_run") == 5000, timeout=300)
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
        _wait_for(
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
    module = write_handlers(tmp_path)
    supervisor = _supervise(drip_url, tmp_path, module, "--processes", "2")
    output = _Output(supervisor)
    try:
        first, second = output.wait_for_pids(2)
        os.kill(first, signal.SIGKILL)
        (replacement,) = output.wait_for_pids(3)[2:]
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=90)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()

    assert supervisor.returncode == 0, output.text[-3000:]
    assert "exited with -9; restarting" in output.read_rest()
    for pid in (second, replacement):
        _wait_for(lambda pid=pid: not _alive(pid), timeout=30)


def test_workers_do_not_outlive_a_killed_supervisor(
    fresh: Client, drip_url: str, tmp_path: Path
) -> None:
    module = write_handlers(tmp_path)
    supervisor = _supervise(drip_url, tmp_path, module, "--processes", "2")
    output = _Output(supervisor)
    try:
        pids = output.wait_for_pids(2)
        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait(timeout=30)
        for pid in pids:
            _wait_for(lambda pid=pid: not _alive(pid), timeout=60)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()


def _completed(client: Client, kind: str) -> int:
    return len(client.list(kinds=[kind], states=["completed"], limit=10_000))


def _supervise(
    url: str, directory: Path, module: str, *options: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drip",
            "run",
            module,
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


class _Output:
    """Reads a process's output line by line, remembering what it saw."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.text = ""
        self.pids: list[int] = []

    def wait_for_pids(self, count: int, timeout: float = 60) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(self.pids) < count:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"expected {count} worker processes:\n{self.text}")
            line = self.process.stdout.readline()
            self.text += line
            match = re.search(r"started worker process (\d+)", line)
            if match:
                self.pids.append(int(match[1]))
        return list(self.pids)

    def read_rest(self) -> str:
        self.text += self.process.stdout.read()
        return self.text


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


def _wait_for(condition, timeout: float) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``condition()`` holds, checking every 50 ms, or fail."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        time.sleep(0.05)
