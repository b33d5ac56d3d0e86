"""The subcommands: migrate, run and plugins."""

from __future__ import annotations

import logging
import os
import threading

import click

from drip.cli import import_module, main, reports_errors, url_option
from drip.client import Client
from drip.handlers import handlers_in_module
from drip.plugins import plugin_manager
from drip.worker import Worker

logger = logging.getLogger(__name__)


@main.command()
@url_option
@click.option(
    "--sql", is_flag=True, help="Print the migrations' SQL instead of applying it."
)
@reports_errors
def migrate(url: str | None, sql: bool) -> None:
    """Create or update Drip's tables."""
    with Client(url) as client:
        if sql:
            click.echo(client.migration_sql(), nl=False)
            return
        applied = client.migrate()
    if applied:
        for migration in applied:
            click.echo(f"applied {migration.version:04d} {migration.name}")
    else:
        click.echo("database is up to date")


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
    "--concurrency", default=10, show_default=True, type=click.IntRange(min=1)
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
@reports_errors
def run(
    module: str,
    url: str | None,
    queues: tuple[str, ...],
    concurrency: int,
    poll_interval: str,
    shutdown_grace: str,
    timeout: str | None,
    burst: bool,
) -> None:
    """Run workers for the handlers defined in MODULE (e.g. myapp.handlers)."""
    handlers = handlers_in_module(import_module(module))
    if not handlers:
        raise click.ClickException(
            f"{module} defines no handlers: decorate functions with @drip.handler"
        )
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
        )
        worker.run_sync()
    _exit_without_waiting_for_abandoned_threads()


def _exit_without_waiting_for_abandoned_threads() -> None:
    """Exit now if sync handlers abandoned at shutdown are still running.

    Their jobs are already recorded for retry, and a thread cannot be stopped;
    waiting for them would keep a stopped worker alive indefinitely.
    """
    abandoned = [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.daemon
    ]
    if abandoned:
        logger.warning(
            "exiting with %s handler threads still running; their jobs were "
            "recorded for retry",
            len(abandoned),
            extra={"action": "exit", "threads": len(abandoned)},
        )
        logging.shutdown()
        os._exit(0)


@main.command()
def plugins() -> None:
    """List the loaded plugins and the hooks each implements."""
    manager = plugin_manager()
    for name, plugin in sorted(
        manager.list_name_plugin(), key=lambda item: str(item[0])
    ):
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
        distribution = _distribution(manager, plugin)
        click.echo(f"{name}{f' ({distribution})' if distribution else ''}")
        for hook in hooks:
            click.echo(f"    {hook}")
    for contributed in manager.hook.drip_dialects():
        for dialect in contributed:
            backends = ", ".join(sorted(dialect.url_backends))
            click.echo(
                f"dialect {dialect.name}: URLs {backends} (from {dialect.package})"
            )


def _distribution(manager, plugin) -> str:  # type: ignore[no-untyped-def]
    for loaded, distribution in manager.list_plugin_distinfo():
        if loaded is plugin:
            return f"{distribution.metadata['name']} {distribution.version}"
    return ""
