"""Worker processes for benchmarks: ``drip run`` on the benchmark handlers."""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO

from drip.bench.settings import BENCH_QUEUE, Settings
from drip.exceptions import DripError

__all__ = ["WorkerProcesses", "worker_command"]

logger = logging.getLogger(__name__)

STOP_GRACE = 15.0


def worker_command(settings: Settings, *, burst: bool) -> list[str]:
    """The ``drip run`` command line for benchmark workers of ``settings``."""
    command = [
        sys.executable,
        "-m",
        "drip",
        "--log-level",
        settings.worker_log_level,
        "run",
        "drip.bench.handlers",
        "--url",
        settings.url,
        "--queue",
        BENCH_QUEUE,
        "--concurrency",
        str(settings.concurrency),
        "--processes",
        str(settings.processes),
        "--poll-interval",
        settings.poll_interval,
        "--no-maintenance",
    ]
    if burst:
        command.append("--burst")
    return command


class WorkerProcesses:
    """One ``drip run`` (a supervisor when ``processes`` > 1) started and stopped by pid.

    Its log goes to a temporary file, shown in the error if it fails.
    """

    def __init__(self, settings: Settings, *, burst: bool) -> None:
        self._command = worker_command(settings, burst=burst)
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  (closed by stop)
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=self._log
        )
        logger.debug(
            "started benchmark workers, pid %s",
            self._process.pid,
            extra={"action": "bench_workers", "pid": self._process.pid},
        )

    def wait(self, timeout: float) -> None:
        """Wait for a burst run to exit by itself; raise if it fails or overruns."""
        assert self._process is not None
        try:
            code = self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DripError(
                f"benchmark workers did not finish within {timeout:.0f}s"
            ) from None
        if code != 0:
            raise DripError(f"benchmark workers exited with {code}: {self._tail()}")

    def stop(self) -> None:
        """SIGTERM (a graceful drain), then SIGKILL if it does not end in time."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _tail(self, size: int = 2_000) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-size:]


@contextlib.contextmanager
def running_workers(settings: Settings, *, burst: bool) -> Iterator[WorkerProcesses]:
    """Workers that are stopped however the block ends."""
    workers = WorkerProcesses(settings, burst=burst)
    workers.start()
    try:
        yield workers
    finally:
        workers.stop()


def wait_until(condition: object, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition()`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False
