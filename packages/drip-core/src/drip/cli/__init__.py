"""The ``drip`` command."""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from drip.cli.logs import configure_logging
from drip.exceptions import DripError

__all__ = ["LOG_LEVELS", "main"]

F = TypeVar("F", bound=Callable[..., Any])

url_option = click.option(
    "--url",
    envvar="DRIP_DATABASE_URL",
    help="SQLAlchemy database URL [env DRIP_DATABASE_URL; default: sqlite:///drip.sqlite3]",
)


def reports_errors(command: F) -> F:
    """Show a Drip error as one ``Error: ...`` line and exit 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DripError as error:
            raise click.ClickException(str(error)) from error
        except BaseExceptionGroup as group:
            matched, _ = group.split(DripError)
            if matched is None:
                raise
            first = _leaves(matched)[0]
            raise click.ClickException(str(first)) from group

    return wrapper  # type: ignore[return-value]


LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)


@click.group()
@click.option("--log-level", default="INFO", show_default=True, type=LOG_LEVELS)
@click.option(
    "--log-format",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json"]),
)
def main(log_level: str, log_format: str) -> None:
    """Drip: background jobs in the database you already run."""
    configure_logging(log_level, log_format)


_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    leaves: list[BaseException] = []
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            leaves.extend(_leaves(error))
        else:
            leaves.append(error)
    return leaves


def import_module(name: str) -> Any:
    """Import the user's module by dotted name, finding it from the working directory."""
    if not _MODULE_NAME.fullmatch(name):
        raise click.ClickException(
            f"{name!r} is not a module name: give a dotted name such as "
            "myapp.handlers (not a file path), run from the folder that contains it"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and name.startswith(error.name):
            raise click.ClickException(
                f"cannot import {name!r}: no such module (run from the directory "
                "that contains it, or install its package)"
            ) from error
        raise


from drip.cli import bench, commands, jobs, run  # noqa: E402,F401  (registers the subcommands)
