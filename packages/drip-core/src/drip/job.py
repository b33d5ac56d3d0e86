"""The job record as read from the database, and what an insert asks for."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from drip.durations import Duration
from drip.states import JobState
from drip.unique import Unique

__all__ = [
    "DEFAULT_QUEUE",
    "InsertResult",
    "Job",
    "JobError",
    "JobSpec",
    "encode_errors",
]

DEFAULT_QUEUE = "default"
DEFAULT_PRIORITY = 1
DEFAULT_MAX_ATTEMPTS = 25


@dataclasses.dataclass(frozen=True, slots=True)
class JobError:
    """One failed attempt, as recorded in a job's ``errors`` list."""

    attempt: int
    at: datetime
    type: str  # the exception's qualified name, or "timeout" or "worker_lost"
    message: str
    traceback: str | None = None
    worker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["at"] = self.at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobError:
        return cls(
            attempt=int(data.get("attempt", 0)),
            at=datetime.fromisoformat(data["at"]),
            type=str(data.get("type", "")),
            message=str(data.get("message", "")),
            traceback=data.get("traceback"),
            worker=data.get("worker"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """A job as stored: what to run, where it is in its life, what happened."""

    id: int
    kind: str
    queue: str
    state: JobState
    priority: int
    args: dict[str, Any]
    metadata: dict[str, Any]
    tags: tuple[str, ...]
    errors: tuple[JobError, ...]
    attempt: int
    max_attempts: int
    created_at: datetime
    scheduled_at: datetime
    attempted_at: datetime | None
    finalized_at: datetime | None
    heartbeat_at: datetime | None
    worker_id: str | None
    unique_key: str | None
    timeout: timedelta | None
    ttl: timedelta | None
    ephemeral: bool

    @property
    def attempts_exhausted(self) -> bool:
        """Whether this attempt was the last the job may make."""
        return self.attempt >= self.max_attempts

    @property
    def output(self) -> Any:
        """What the handler recorded as its output, if anything."""
        return self.metadata.get("output")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    """One job to insert: its kind, args and options (see ``Client.insert``)."""

    kind: str
    args: dict[str, Any] = dataclasses.field(default_factory=dict)
    queue: str = DEFAULT_QUEUE
    priority: int = DEFAULT_PRIORITY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    scheduled_at: datetime | None = None
    tags: Sequence[str] = ()
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    unique: Unique | None = None
    timeout: Duration | None = None
    ttl: Duration | None = None
    ephemeral: bool = False
    pending: bool = False


class InsertResult:
    """The job an insert produced, or the existing job that made it a duplicate.

    A result made by ``deferred`` builds its ``job`` on first access: a bulk
    insert returns a result per job, and most callers read only ``id``.
    """

    __slots__ = ("_build", "_job", "duplicate", "id")

    def __init__(self, job: Job, duplicate: bool = False) -> None:
        self._job: Job | None = job
        self._build: Callable[[], Job] | None = None
        self.id = job.id
        self.duplicate = duplicate

    @classmethod
    def deferred(cls, id_: int, build: Callable[[], Job]) -> InsertResult:
        """A new (not duplicate) job's result, whose ``Job`` ``build`` makes."""
        result = cls.__new__(cls)
        result._job = None
        result._build = build
        result.id = id_
        result.duplicate = False
        return result

    @property
    def job(self) -> Job:
        if self._job is None:
            assert self._build is not None
            self._job = self._build()
            self._build = None
        return self._job

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InsertResult):
            return NotImplemented
        return (self.job, self.duplicate) == (other.job, other.duplicate)

    __hash__ = None  # type: ignore[assignment]  # a Job holds dicts: unhashable

    def __repr__(self) -> str:
        return f"InsertResult(job={self.job!r}, duplicate={self.duplicate!r})"


def encode_errors(errors: Iterable[JobError]) -> str:
    """A job's error list as JSON that every database accepts.

    Error text comes from arbitrary exceptions: NUL characters (which
    PostgreSQL refuses) and lone surrogates (which no driver can encode) are
    written out as escapes, so that a failure can always be recorded.
    """
    entries = [
        {
            key: _safe_text(value) if isinstance(value, str) else value
            for key, value in error.to_dict().items()
        }
        for error in errors
    ]
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":"))


def _safe_text(text: str) -> str:
    text = text.replace("\x00", "\\x00")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
