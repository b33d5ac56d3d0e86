"""Printing jobs and queues as aligned tables or as JSON."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import click

__all__ = ["FORMAT_OPTION", "echo_records", "to_plain"]

FORMAT_OPTION = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="How to print the result.",
)


def to_plain(value: Any) -> Any:
    """A JSON-ready copy of a record: datetimes as ISO 8601, enums as values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_plain(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    return value


def echo_records(
    records: Sequence[Any], columns: Sequence[tuple[str, Any]], output_format: str
) -> None:
    """Print ``records`` as JSON, or as a table of ``(heading, getter)`` columns."""
    if output_format == "json":
        click.echo(json.dumps([to_plain(record) for record in records], indent=2))
        return
    rows = [[_cell(getter(record)) for _, getter in columns] for record in records]
    headings = [heading for heading, _ in columns]
    widths = [
        max([len(heading), *(len(row[index]) for row in rows)])
        for index, heading in enumerate(headings)
    ]
    click.echo(
        "  ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True)).rstrip()
    )
    for row in rows:
        click.echo(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Enum):
        return str(value.value)
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"
