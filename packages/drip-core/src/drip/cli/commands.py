"""The subcommands migrate and plugins."""

from __future__ import annotations

import click

from drip.cli import main, reports_errors, url_option
from drip.client import Client
from drip.plugins import plugin_manager


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
