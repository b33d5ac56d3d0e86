"""``drip jobs`` and ``drip queues``: looking at and acting on jobs and queues."""

from __future__ import annotations

import json
from datetime import datetime

import click

from drip.cli import main, reports_errors, url_option
from drip.cli.output import FORMAT_OPTION, echo_records, to_plain
from drip.client import Client
from drip.exceptions import ValidationError
from drip.job import Job
from drip.queues import Queue
from drip.states import JobState

JOB_COLUMNS = (
    ("ID", lambda job: job.id),
    ("KIND", lambda job: job.kind),
    ("QUEUE", lambda job: job.queue),
    ("STATE", lambda job: job.state),
    ("PRI", lambda job: job.priority),
    ("ATTEMPT", lambda job: f"{job.attempt}/{job.max_attempts}"),
    ("SCHEDULED", lambda job: job.scheduled_at),
    ("CREATED", lambda job: job.created_at),
)
QUEUE_COLUMNS = (
    ("NAME", lambda queue: queue.name),
    ("PAUSED", lambda queue: queue.paused_at or "no"),
    ("CREATED", lambda queue: queue.created_at),
    ("METADATA", lambda queue: json.dumps(queue.metadata)),
)


def _split(values: tuple[str, ...]) -> list[str]:
    """Repeated options, each possibly comma-separated: ``--state a,b --state c``."""
    return [
        item.strip() for value in values for item in value.split(",") if item.strip()
    ]


def _instant(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{option} {value!r} is not an ISO 8601 time such as 2026-12-04T10:00:00+00:00"
        ) from None
    if parsed.tzinfo is None:
        raise ValidationError(f"{option} {value!r} needs a time zone, e.g. +00:00 or Z")
    return parsed


DELETE_BATCH = 10_000  # jobs deleted per transaction by delete-many


@main.group()
def jobs() -> None:
    """List, inspect and act on jobs."""


@jobs.command("list")
@url_option
@click.option(
    "--state", "states", multiple=True, help="Filter by state (repeatable, or a,b)."
)
@click.option(
    "--kind", "kinds", multiple=True, help="Filter by kind (repeatable, or a,b)."
)
@click.option(
    "--queue", "queues", multiple=True, help="Filter by queue (repeatable, or a,b)."
)
@click.option("--priority", "priorities", multiple=True, type=click.IntRange(1, 4))
@click.option("--created-after", help="ISO 8601 time.")
@click.option("--created-before", help="ISO 8601 time.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--after", type=int, help="Cursor: the last id of the previous page.")
@FORMAT_OPTION
@reports_errors
def list_jobs(
    url: str | None,
    states: tuple[str, ...],
    kinds: tuple[str, ...],
    queues: tuple[str, ...],
    priorities: tuple[int, ...],
    created_after: str | None,
    created_before: str | None,
    limit: int,
    after: int | None,
    output_format: str,
) -> None:
    """Jobs matching every filter, newest first."""
    with Client(url) as client:
        found = client.list(
            states=_split(states),
            kinds=_split(kinds),
            queues=_split(queues),
            priorities=priorities,
            created_after=_instant(created_after, "--created-after"),
            created_before=_instant(created_before, "--created-before"),
            after=after,
            limit=limit,
        )
    echo_records(found, JOB_COLUMNS, output_format)
    if found and len(found) == limit and output_format == "table":
        click.echo(f"(more: --after {found[-1].id})", err=True)


@jobs.command("get")
@click.argument("job_id", type=int)
@url_option
@FORMAT_OPTION
@reports_errors
def get_job(job_id: int, url: str | None, output_format: str) -> None:
    """Everything about one job, including its errors."""
    with Client(url) as client:
        job = client.get(job_id)
    if job is None:
        raise click.ClickException(f"job {job_id} does not exist")
    if output_format == "json":
        click.echo(json.dumps(to_plain(job), indent=2))
        return
    _echo_job(job)


def _echo_job(job: Job) -> None:
    plain = to_plain(job)
    errors = plain.pop("errors")
    for key, value in plain.items():
        if value not in (None, [], {}):
            shown = json.dumps(value) if isinstance(value, dict | list) else value
            click.echo(f"{key:<14} {shown}")
    for error in errors:
        click.echo(
            f"error (attempt {error['attempt']}, {error['at']}): {error['type']}: {error['message']}"
        )


def _action(name: str, method: str, done: str) -> None:
    @jobs.command(name, help=f"{name.capitalize()} one job.")
    @click.argument("job_id", type=int)
    @url_option
    @reports_errors
    def command(job_id: int, url: str | None) -> None:
        with Client(url) as client:
            job = getattr(client, method)(job_id)
        if method == "cancel" and job.state is JobState.RUNNING:
            click.echo(
                f"job {job.id}: cancellation requested; it is running and stops "
                "at its worker's next check (within one poll interval)"
            )
        else:
            click.echo(f"job {job.id} {done} (now {job.state.value})")


_action("cancel", "cancel", "cancelled")
_action("retry", "retry", "retried")
_action("discard", "discard", "discarded")
_action("delete", "delete", "deleted")


@jobs.command("delete-many")
@url_option
@click.option(
    "--state",
    "states",
    multiple=True,
    required=True,
    help="Required (repeatable, or a,b).",
)
@click.option("--kind", "kinds", multiple=True)
@click.option("--queue", "queues", multiple=True)
@click.option("--finalized-before", help="ISO 8601 time.")
@click.option("--created-before", help="ISO 8601 time.")
@reports_errors
def delete_many(
    url: str | None,
    states: tuple[str, ...],
    kinds: tuple[str, ...],
    queues: tuple[str, ...],
    finalized_before: str | None,
    created_before: str | None,
) -> None:
    """Delete every job matching the filters (never running ones)."""
    total = 0
    with Client(url) as client:
        while True:
            deleted = client.delete_many(
                states=_split(states),
                kinds=_split(kinds),
                queues=_split(queues),
                finalized_before=_instant(finalized_before, "--finalized-before"),
                created_before=_instant(created_before, "--created-before"),
                limit=DELETE_BATCH,
            )
            total += deleted
            if deleted < DELETE_BATCH:
                break
    click.echo(f"deleted {total} jobs")


@main.group()
def queues() -> None:
    """List, pause and resume queues."""


@queues.command("list")
@url_option
@FORMAT_OPTION
@reports_errors
def list_queues(url: str | None, output_format: str) -> None:
    """Every queue with a row (upserted or paused)."""
    with Client(url) as client:
        found: list[Queue] = client.list_queues()
    echo_records(found, QUEUE_COLUMNS, output_format)


@queues.command("pause")
@click.argument("name")
@url_option
@reports_errors
def pause_queue(name: str, url: str | None) -> None:
    """Stop every worker from fetching NAME's jobs."""
    with Client(url) as client:
        client.pause_queue(name)
    click.echo(f"queue {name} paused")


@queues.command("resume")
@click.argument("name")
@url_option
@reports_errors
def resume_queue(name: str, url: str | None) -> None:
    """Let workers fetch NAME's jobs again."""
    with Client(url) as client:
        client.resume_queue(name)
    click.echo(f"queue {name} resumed")
