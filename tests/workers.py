"""Running ``drip run`` in subprocesses for tests, and the side-effect table.

The handlers module written by ``write_handlers`` records every execution in
``drip_test_side_effect`` inside the database under test, so a test can count
how many times each job really ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import sqlalchemy as sa

from drip import Client

SIDE_EFFECTS = sa.Table(
    "drip_test_side_effect",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.BigInteger, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
)

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

SIDE_EFFECTS = sa.table(
    "drip_test_side_effect", sa.column("job_id"), sa.column("pid")
)
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
def record(context):
    with context.client.transaction() as conn:
        conn.execute(
            sa.insert(SIDE_EFFECTS).values(job_id=context.job.id, pid=os.getpid())
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


def reset_side_effects(client: Client) -> None:
    with client.transaction() as conn:
        for table in (SIDE_EFFECTS, EXECUTIONS):
            table.drop(conn, checkfirst=True)
            table.create(conn)


def executions(client: Client) -> list[sa.Row]:
    with client.transaction(read_only=True) as conn:
        return list(conn.execute(sa.select(EXECUTIONS).order_by(EXECUTIONS.c.started)))


def executions_per_job(client: Client) -> dict[int, int]:
    with client.transaction(read_only=True) as conn:
        rows = conn.execute(
            sa.select(SIDE_EFFECTS.c.job_id, sa.func.count()).group_by(
                SIDE_EFFECTS.c.job_id
            )
        ).all()
    return {job_id: count for job_id, count in rows}


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
