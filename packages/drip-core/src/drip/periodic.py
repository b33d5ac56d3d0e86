"""Periodic jobs: schedules declared next to the handlers, enqueued by the leader.

A ``Periodic`` names a kind (with args and a queue) and when it is due: every
fixed interval, aligned to the Unix epoch, or on a cron expression in a time
zone. Each schedule's last enqueued slot is kept in ``drip_periodic``; a slot
is enqueued only by the transaction that advances that record, so every slot
becomes exactly one job across all processes and machines, whatever retention
later deletes. A process that was down enqueues only the most recent missed
slot, never a backlog.

Cron schedules follow the usual cron rules across daylight-saving changes: a
job at a fixed hour runs once when that hour repeats, and a time that a jump
skips runs right after the jump. Jobs at every hour (``0 * * * *``) run every
real hour, in UTC terms none skipped or doubled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drip.durations import Duration, parse_duration
from drip.exceptions import ConfigurationError
from drip.job import DEFAULT_QUEUE

__all__ = ["Periodic", "periodic_in_module"]


@dataclasses.dataclass(frozen=True)
class Periodic:
    """A job of ``kind`` with ``args`` enqueued ``every`` interval or on ``cron``.

    ``timezone`` (an IANA name) applies to cron expressions. ``options`` are
    passed to the insert (priority, max_attempts, tags, metadata, timeout...).
    A schedule's identity is its kind, args and queue: two processes declaring
    the same schedule share its slots.
    """

    kind: str
    every: Duration | None = None
    cron: str | None = None
    timezone: str = "UTC"
    args: dict[str, Any] = dataclasses.field(default_factory=dict)
    queue: str = DEFAULT_QUEUE
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.every is None) == (self.cron is None):
            raise ConfigurationError(
                f"periodic {self.kind!r}: give exactly one of every= or cron="
            )
        if self.every is not None and parse_duration(self.every).total_seconds() < 1:
            raise ConfigurationError(
                f"periodic {self.kind!r}: every= must be 1s or more"
            )
        if self.cron is not None:
            from croniter import croniter

            if not croniter.is_valid(self.cron):
                raise ConfigurationError(
                    f"periodic {self.kind!r}: {self.cron!r} is not a cron expression"
                )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"periodic {self.kind!r}: unknown time zone {self.timezone!r}"
            ) from None

    @property
    def id(self) -> str:
        """The schedule's identity: a hash of its kind, args and queue."""
        identity = json.dumps(
            {"kind": self.kind, "args": self.args, "queue": self.queue},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(identity.encode()).hexdigest()

    def latest_slot(self, now: datetime) -> datetime:
        """The most recent slot at or before ``now``, in UTC."""
        if self.every is not None:
            seconds = parse_duration(self.every).total_seconds()
            epoch = now.timestamp()
            return datetime.fromtimestamp(epoch - epoch % seconds, UTC)
        return self._latest_cron_slot(now)

    def next_slot(self, now: datetime) -> datetime:
        """The first slot after ``now``, in UTC."""
        if self.every is not None:
            seconds = parse_duration(self.every).total_seconds()
            return self.latest_slot(now) + timedelta(seconds=seconds)
        from croniter import croniter

        local_now = now.astimezone(ZoneInfo(self.timezone))
        return croniter(self.cron, local_now).get_next(datetime).astimezone(UTC)

    def _latest_cron_slot(self, now: datetime) -> datetime:
        from croniter import croniter

        zone = ZoneInfo(self.timezone)
        local_now = now.astimezone(zone)
        previous = croniter(self.cron, local_now).get_prev(datetime)
        following = croniter(self.cron, previous).get_next(datetime)
        if following <= local_now:  # ``now`` falls exactly on a slot
            previous = following
        return _first_occurrence(
            previous, zone, fixed_hours=self._fixed_hours()
        ).astimezone(UTC)

    def _fixed_hours(self) -> bool:
        """Whether the cron expression names hours rather than every hour."""
        from croniter import croniter

        hours = croniter(self.cron).expanded[1]
        return hours != ["*"] and len(hours) < 24


def _first_occurrence(
    moment: datetime, zone: ZoneInfo, *, fixed_hours: bool
) -> datetime:
    """The earlier of two instants sharing ``moment``'s wall-clock time, for
    fixed-hour schedules: a repeated hour runs a fixed-hour job once."""
    if not fixed_hours:
        return moment
    wall = moment.replace(tzinfo=None)
    first = wall.replace(tzinfo=zone, fold=0)
    return min(first, moment, key=lambda value: value.timestamp())


def periodic_in_module(module: ModuleType) -> list[Periodic]:
    """Every ``Periodic`` a module defines, alone or in a list or tuple."""
    found: list[Periodic] = []
    for value in vars(module).values():
        if isinstance(value, Periodic):
            found.append(value)
        elif (
            isinstance(value, list | tuple)
            and value
            and all(isinstance(item, Periodic) for item in value)
        ):
            found.extend(value)
    return _unique(found)


def _unique(schedules: Iterable[Periodic]) -> list[Periodic]:
    seen: dict[str, Periodic] = {}
    for schedule in schedules:
        seen.setdefault(schedule.id, schedule)
    return list(seen.values())
