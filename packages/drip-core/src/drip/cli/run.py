"""``drip run``: work the jobs of a module's handlers, in one or several processes."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

import click

from drip.cli import import_module, main, reports_errors, url_option
from drip.client import Client
from drip.exceptions import ConfigurationError
from drip.handlers import handlers_in_module
from drip.maintenance import DEFAULT_RETENTION, MaintenanceConfig
from drip.periodic import periodic_in_module
from drip.states import FINAL_STATES, JobState
from drip.supervisor import Supervisor
from drip.worker import Worker
from drip.worker.worker import DEFAULT_CONCURRENCY

logger = logging.getLogger(__name__)


@main.command()
@click.argument("module")
@url_option
@click.option(
    "--queue",
    "queues",
    multiple=True,
    default=["default"],
    show_default=True,
    help="Queue to work; repeat for several.",
)
@click.option(
    "--concurrency",
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    type=click.IntRange(min=1),
    help="Jobs run at once, shared by the queues.",
)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes to run under a supervisor that restarts them.",
)
@click.option(
    "--poll-interval",
    default="1s",
    show_default=True,
    help="How often idle queues are checked.",
)
@click.option(
    "--shutdown-grace",
    default="30s",
    show_default=True,
    help="How long running jobs may finish after SIGTERM/SIGINT.",
)
@click.option("--timeout", default=None, help="Default job timeout, e.g. 5m.")
@click.option(
    "--burst", is_flag=True, help="Exit once no due job is left in the queues."
)
@click.option(
    "--heartbeat-interval",
    default="5s",
    show_default=True,
    help="How often running jobs' heartbeats are refreshed.",
)
@click.option(
    "--rescue-after",
    default="60s",
    show_default=True,
    help="Rescue running jobs whose heartbeat is older than this.",
)
@click.option(
    "--retention",
    "retention",
    multiple=True,
    metavar="STATE=AGE",
    help="Keep finished jobs in STATE this long (or 'forever'); repeatable. "
    "Defaults: completed=24h, cancelled=24h, discarded=7d.",
)
@click.option(
    "--maintenance-interval",
    default="5s",
    show_default=True,
    help="How often the leader runs maintenance.",
)
@click.option(
    "--leader-lease",
    default="30s",
    show_default=True,
    help="How long leadership lasts without renewal.",
)
@click.option(
    "--reindex-interval",
    default=None,
    help="Rebuild indexes this often (PostgreSQL only).",
)
@click.option("--no-maintenance", is_flag=True, help="Never take part in maintenance.")
@reports_errors
def run(
    module: str,
    url: str | None,
    queues: tuple[str, ...],
    concurrency: int,
    processes: int,
    poll_interval: str,
    shutdown_grace: str,
    timeout: str | None,
    burst: bool,
    heartbeat_interval: str,
    rescue_after: str,
    retention: tuple[str, ...],
    maintenance_interval: str,
    leader_lease: str,
    reindex_interval: str | None,
    no_maintenance: bool,
) -> None:
    """Run workers for the handlers defined in MODULE (e.g. myapp.handlers).

    MODULE's @drip.handler functions (and drip.Registry objects) are its
    handlers; its drip.Periodic objects are its periodic schedules.
    """
    imported = import_module(module)
    handlers = handlers_in_module(imported)
    if not handlers:
        raise click.ClickException(
            f"{module} defines no handlers: decorate functions with @drip.handler"
        )
    maintenance = MaintenanceConfig(
        enabled=not no_maintenance,
        interval=maintenance_interval,
        lease=leader_lease,
        heartbeat_interval=heartbeat_interval,
        rescue_after=rescue_after,
        retention=_retention(retention),
        reindex_interval=reindex_interval,
    )

    if processes > 1:
        raise SystemExit(Supervisor(_child_command(), processes, shutdown_grace).run())

    with Client(url) as client:
        worker = Worker(
            client,
            handlers,
            queues=queues,
            concurrency=concurrency,
            poll_interval=poll_interval,
            shutdown_grace=shutdown_grace,
            timeout=timeout,
            burst=burst,
            maintenance=maintenance,
            periodic=periodic_in_module(imported),
        )
        worker.run_sync()
    _exit_without_waiting_for_abandoned_threads()


def _retention(options: tuple[str, ...]) -> dict[str, str | None]:
    """``STATE=AGE`` options over the defaults; ``forever`` keeps a state's jobs."""
    retention: dict[str, str | None] = dict(DEFAULT_RETENTION)  # type: ignore[arg-type]
    finals = ", ".join(sorted(state.value for state in FINAL_STATES))
    for option in options:
        state, separator, age = option.partition("=")
        if not separator or state not in {s.value for s in FINAL_STATES}:
            raise ConfigurationError(
                f"--retention {option!r}: expected STATE=AGE with STATE one of {finals}"
            )
        retention[JobState(state).value] = None if age == "forever" else age
    return retention


def _child_command() -> list[str]:
    """This command line for a worker process: the same, without --processes."""
    arguments: list[str] = []
    skip_next = False
    for argument in sys.argv[1:]:
        if skip_next:
            skip_next = False
        elif argument == "--processes":
            skip_next = True
        elif not argument.startswith("--processes="):
            arguments.append(argument)
    return [sys.executable, "-m", "drip", *arguments]


def _exit_without_waiting_for_abandoned_threads(wait: float = 2.0) -> None:
    """Exit now if sync handlers abandoned at shutdown are still running.

    Their jobs are already recorded for retry, and a thread cannot be stopped;
    waiting for them would keep a stopped worker alive indefinitely. Threads
    that are merely finishing (a database listener noticing the stop) get
    ``wait`` seconds first.
    """
    deadline = time.monotonic() + wait
    for thread in _other_threads():
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    remaining = _other_threads()
    if remaining:
        logger.warning(
            "exiting with %s threads still running (sync handlers abandoned at "
            "shutdown; their jobs were recorded for retry)",
            len(remaining),
            extra={"action": "exit", "threads": len(remaining)},
        )
        logging.shutdown()
        os._exit(0)


def _other_threads() -> list[threading.Thread]:
    return [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread()
        and not thread.daemon
        and thread.is_alive()
    ]
