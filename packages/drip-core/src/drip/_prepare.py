"""Validating what an insert asks for, before any SQL runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from drip.dialect import NewJob
from drip.durations import parse_duration
from drip.exceptions import ValidationError
from drip.job import JobSpec
from drip.serializers import Serializer
from drip.states import JobState
from drip.unique import Unique

MAX_NAME_LENGTH = 128
MAX_TAG_LENGTH = 255
MAX_ATTEMPTS_LIMIT = 32_767


def prepare_jobs(specs: Sequence[JobSpec], serializer: Serializer) -> list[NewJob]:
    """Check every option of each spec and encode it into a row to insert.

    A batch usually repeats its kind and queue and leaves args, metadata and
    tags empty: those are checked and encoded once per batch, not once per job.
    """
    batch = _Batch(serializer)
    return [batch.prepare(spec) for spec in specs]


class _Batch:
    """Preparation of one batch, remembering the work its jobs share."""

    def __init__(self, serializer: Serializer) -> None:
        self.serializer = serializer
        self.now = datetime.now(UTC)
        self.checked_names: set[str] = set()
        self.empty_object: str | None = None
        self.empty_tags: str | None = None

    def prepare(self, spec: JobSpec) -> NewJob:
        self.check_name("kind", spec.kind)
        self.check_name("queue", spec.queue)
        check_int("priority", spec.priority, 1, 4)
        check_int("max_attempts", spec.max_attempts, 1, MAX_ATTEMPTS_LIMIT)

        args = self.encode_object("args", spec.args)
        metadata = self.encode_object("metadata", spec.metadata)
        tags = self.encode_tags(spec.tags)
        scheduled_at = check_aware("scheduled_at", spec.scheduled_at)

        unique_key = unique_states = None
        if spec.unique is not None:
            unique_key, unique_states = _unique_columns(spec, args, self.serializer)

        return NewJob(
            kind=spec.kind,
            queue=spec.queue,
            state=self.initial_state(spec, scheduled_at),
            priority=spec.priority,
            args=args,
            metadata=metadata,
            tags=tags,
            max_attempts=spec.max_attempts,
            scheduled_at=scheduled_at,
            unique_key=unique_key,
            unique_states=unique_states,
            timeout_ms=_milliseconds("timeout", spec.timeout),
            ttl_ms=_milliseconds("ttl", spec.ttl),
            ephemeral=bool(spec.ephemeral),
        )

    def check_name(self, what: str, value: Any) -> None:
        # Kinds and queues follow one rule, so a name valid as either is valid.
        if type(value) is not str or value not in self.checked_names:
            check_name(what, value)
            self.checked_names.add(value)

    def encode_object(self, what: str, value: Any) -> str:
        if type(value) is not dict or value:
            return _encode_object(what, value, self.serializer)
        if self.empty_object is None:
            self.empty_object = _encode_object(what, value, self.serializer)
        return self.empty_object

    def encode_tags(self, tags: Any) -> str:
        if type(tags) not in (tuple, list) or tags:
            return self.serializer.dumps(check_tags(tags), what="tags")
        if self.empty_tags is None:
            self.empty_tags = self.serializer.dumps([], what="tags")
        return self.empty_tags

    def initial_state(self, spec: JobSpec, scheduled_at: datetime | None) -> JobState:
        # Only a label: claims compare scheduled_at with the database's clock,
        # so a skewed application clock can never make a job run early.
        if spec.pending:
            return JobState.PENDING
        if scheduled_at is not None and scheduled_at > self.now:
            return JobState.SCHEDULED
        return JobState.AVAILABLE


def check_name(what: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string, not {value!r}")
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"{what} {value[:40]!r}... is {len(value)} characters long; "
            f"the limit is {MAX_NAME_LENGTH}"
        )
    if "\x00" in value:
        raise ValidationError(f"{what} {value!r} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{what} {value!r} is not valid Unicode text") from None


def check_int(what: str, value: Any, low: int, high: int) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise ValidationError(
            f"{what} must be an integer from {low} to {high}, not {value!r}"
        )


def _encode_object(what: str, value: Any, serializer: Serializer) -> str:
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"{what} must be a dict (a JSON object), not {type(value).__name__}"
        )
    return serializer.dumps(dict(value), what=what)


def check_tags(tags: Any) -> list[str]:
    if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
        raise ValidationError(f"tags must be a list of strings, not {tags!r}")
    for tag in tags:
        if not tag or len(tag) > MAX_TAG_LENGTH:
            raise ValidationError(
                f"tag {tag!r} must have 1 to {MAX_TAG_LENGTH} characters"
            )
    return list(tags)


def check_aware(what: str, value: Any) -> datetime | None:
    """``value`` (a timezone-aware datetime, or None) in UTC; else a clear error."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError(
            f"{what} must be a timezone-aware datetime, not {value!r}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{what} {value.isoformat()} has no time zone; pass an aware "
            "datetime such as datetime.now(UTC) + timedelta(minutes=5)"
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(
            f"{what} {value.isoformat()} is outside the range of dates"
        ) from None


def _milliseconds(what: str, value: Any) -> int | None:
    if value is None:
        return None
    duration: timedelta = parse_duration(value, name=what)
    return round(duration.total_seconds() * 1000)


def _unique_columns(
    spec: JobSpec, args_text: str, serializer: Serializer
) -> tuple[str, int]:
    unique = spec.unique
    if not isinstance(unique, Unique):
        raise ValidationError(f"unique must be a drip.Unique, not {unique!r}")
    key = unique.key(
        kind=spec.kind,
        queue=spec.queue,
        args=serializer.loads(args_text),
        scheduled_at=spec.scheduled_at or datetime.now(UTC),
    )
    return key, unique.mask()
