"""Running ``drip run`` in subprocesses for tests, and the execution table.

The handlers module written by ``write_handlers`` records each run of
``record_run`` in ``drip_test_execution`` inside the database under test, so a
test can see how many times, and when, each job really ran.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from drip import Client

EXECUTIONS = sa.Table(
    "drip_test_execution",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.BigInteger, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", sa.Double, nullable=False),
    sa.Column("finished", sa.Double),
)

HANDLERS = '''
"""Handlers for Drip's subprocess tests."""

import os
import time
from pathlib import Path

import sqlalchemy as sa

import drip

EXECUTIONS = sa.table(
    "drip_test_execution",
    sa.column("id"),
    sa.column("job_id"),
    sa.column("pid"),
    sa.column("started"),
    sa.column("finished"),
)

@drip.handler
def tick(context):
    return None


@drip.handler
def record_run(context):
    """Record when this execution started and finished, each in its own commit."""
    with context.client.transaction() as conn:
        (execution,) = conn.execute(
            sa.insert(EXECUTIONS)
            .values(job_id=context.job.id, pid=os.getpid(), started=time.time())
            .returning(EXECUTIONS.c.id)
        ).one()
    time.sleep(context.args.get("seconds", 0.02))
    with context.client.transaction() as conn:
        conn.execute(
            sa.update(EXECUTIONS)
            .where(EXECUTIONS.c.id == execution)
            .values(finished=time.time())
        )


@drip.handler
def wait_for_file(context):
    path = Path(context.args["path"])
    deadline = time.monotonic() + context.args.get("limit", 30)
    Path(context.args["started"]).touch()
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
'''


PERIODIC = '''
"""The test handlers plus one schedule: a tick every second."""

import drip
from drip_test_handlers import tick

ticks = drip.Periodic("tick", every="1s")
'''


def write_handlers(directory: Path) -> str:
    """Write the test handlers module into ``directory``; return its name.

    ``drip_test_periodic``, written beside it, adds a periodic schedule.
    """
    (directory / "drip_test_handlers.py").write_text(textwrap.dedent(HANDLERS))
    (directory / "drip_test_periodic.py").write_text(textwrap.dedent(PERIODIC))
    return "drip_test_handlers"


def reset_executions(client: Client) -> None:
    with client.transaction() as conn:
        EXECUTIONS.drop(conn, checkfirst=True)
        EXECUTIONS.create(conn)


def executions(client: Client) -> list[sa.Row]:
    with client.transaction(read_only=True) as conn:
        return list(conn.execute(sa.select(EXECUTIONS).order_by(EXECUTIONS.c.started)))


def wait_for(condition, timeout: float = 30.0, interval: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``condition()`` holds, checking every ``interval``, or fail."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        time.sleep(interval)


class ProcessOutput:
    """A process's output, read line by line by a thread of its own.

    Waiting for a line never blocks on the pipe, so a process that goes quiet
    fails the wait at its deadline instead of hanging the test.
    """

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._ended = False
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()

    @property
    def text(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for(
        self, pattern: str, *, count: int = 1, timeout: float = 60.0
    ) -> list[re.Match[str]]:
        """The first ``count`` matches of ``pattern``, one per line, once seen."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for line in self._lines if (m := re.search(pattern, line))]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if self._ended or remaining <= 0:
                    raise AssertionError(
                        f"expected {count} lines matching {pattern!r}:\n"
                        + "".join(self._lines)[-3000:]
                    )
                self._changed.wait(remaining)

    def rest(self, timeout: float = 60.0) -> str:
        """Everything the process printed, once its output has ended."""
        self._reader.join(timeout)
        return self.text

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()


def start_worker(
    url: str,
    directory: Path,
    *options: str,
    module: str = "drip_test_handlers",
    log: Path | None = None,
) -> subprocess.Popen[str]:
    """Start ``drip run`` on ``module`` in ``directory``.

    Its output (the logs) goes to a pipe, or to the file ``log``: a worker
    logging thousands of jobs would block on a pipe nobody reads until the end.
    """
    output = subprocess.PIPE if log is None else log.open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "drip", "run", module, "--url", url, *options],
        cwd=directory,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


def drip_command(
    *arguments: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drip", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
