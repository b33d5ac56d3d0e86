"""Operating on jobs and queues: the part of the client that operators use.

Every change is guarded by the state it starts from, so two actors racing (an
operator and a worker, two operators) leave exactly one outcome; an action the
job's state does not allow raises ``InvalidTransition`` and changes nothing.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Connection

from drip._prepare import (
    MAX_ATTEMPTS_LIMIT,
    check_aware,
    check_int,
    check_name,
    check_tags,
)
from drip.dialect import DeleteJobs, TransitionJob, UpdateJob, UpsertQueue
from drip.exceptions import InvalidTransition, JobNotFound, ValidationError
from drip.job import Job
from drip.queues import Queue
from drip.states import JobState, parse_states

if TYPE_CHECKING:
    import contextlib

    from drip.dialect import Dialect
    from drip.plan import Plan
    from drip.serializers import Serializer

T = TypeVar("T")

__all__ = ["OperatorAPI"]

_UNFINISHED = frozenset(
    {JobState.AVAILABLE, JobState.SCHEDULED, JobState.PENDING, JobState.RETRYABLE}
)
_RETRIABLE = frozenset({JobState.RETRYABLE, JobState.DISCARDED, JobState.CANCELLED})
_RESCHEDULABLE = frozenset(
    {JobState.AVAILABLE, JobState.SCHEDULED, JobState.RETRYABLE, JobState.PENDING}
)
_UPDATABLE = frozenset(JobState) - {JobState.RUNNING}
_UPDATE_FIELDS = (
    "priority",
    "queue",
    "tags",
    "metadata",
    "max_attempts",
    "scheduled_at",
)


class OperatorAPI:
    """Mixed into ``Client``: cancel, retry, discard, delete, update; queues."""

    if TYPE_CHECKING:  # provided by Client
        dialect: Dialect
        serializer: Serializer

        def run(
            self,
            plan: Plan[T],
            *,
            conn: Connection | None = None,
            read_only: bool = False,
        ) -> T: ...

        def get(self, job_id: int, *, conn: Connection | None = None) -> Job | None: ...

        def decode(self, row: Any) -> Job: ...

        def _connection(
            self, conn: Connection | None
        ) -> contextlib.AbstractContextManager[Connection]: ...

    # -- jobs ---------------------------------------------------------------------

    def cancel(self, job_id: int, *, conn: Connection | None = None) -> Job:
        """Cancel a job for good.

        A job that has not started ends ``cancelled`` at once. A running job is
        asked to stop: its worker cancels an async handler, raises the flag a
        sync handler can check, and the job ends ``cancelled``, never
        ``completed``. Cancelling a finished job is an ``InvalidTransition``.
        """
        with self._connection(conn) as connection:
            moved = self.run(
                self.dialect.transition_job(
                    TransitionJob(job_id, _UNFINISHED, JobState.CANCELLED)
                ),
                conn=connection,
            )
            if not moved:
                job = self._existing(job_id, connection)
                if job.state is not JobState.RUNNING:
                    raise _not_allowed("cancel", job, "unfinished")
                self.run(self.dialect.request_cancel(job_id), conn=connection)
            return self._existing(job_id, connection)

    def retry(self, job_id: int, *, conn: Connection | None = None) -> Job:
        """Make a retryable, discarded or cancelled job available to run now.

        The job keeps its attempts and error history.
        """
        return self._transition(job_id, _RETRIABLE, JobState.AVAILABLE, "retry", conn)

    def discard(self, job_id: int, *, conn: Connection | None = None) -> Job:
        """Give up on a job that has not started (running jobs: cancel them)."""
        return self._transition(
            job_id, _UNFINISHED, JobState.DISCARDED, "discard", conn
        )

    def delete(self, job_id: int, *, conn: Connection | None = None) -> Job:
        """Delete a job that is not running; return it as it was."""
        with self._connection(conn) as connection:
            job = self._existing(job_id, connection)
            if not self.run(self.dialect.delete_job(job_id), conn=connection):
                raise InvalidTransition(
                    f"cannot delete job {job_id}: it is running; cancel it first"
                )
            return job

    def delete_many(
        self,
        *,
        states: Iterable[JobState | str],
        kinds: Iterable[str] = (),
        queues: Iterable[str] = (),
        priorities: Iterable[int] = (),
        finalized_before: datetime | None = None,
        created_before: datetime | None = None,
        limit: int = 10_000,
        conn: Connection | None = None,
    ) -> int:
        """Delete up to ``limit`` jobs matching every filter; return how many.

        ``states`` is required (running jobs are never deleted); repeat the call
        until it returns less than ``limit`` to delete more.
        """
        chosen = parse_states(states)
        if not chosen:
            raise ValidationError("delete_many needs at least one state")
        if JobState.RUNNING in chosen:
            raise ValidationError("running jobs cannot be deleted; cancel them first")
        params = DeleteJobs(
            states=chosen,
            kinds=tuple(kinds),
            queues=tuple(queues),
            priorities=tuple(priorities),
            finalized_before=check_aware("finalized_before", finalized_before),
            created_before=check_aware("created_before", created_before),
            limit=limit,
        )
        return self.run(self.dialect.delete_jobs(params), conn=conn)

    def update(
        self, job_id: int, *, conn: Connection | None = None, **changes: Any
    ) -> Job:
        """Change a job's priority, queue, tags, metadata, max_attempts or
        scheduled_at (which also makes it scheduled or available).

        Running jobs cannot be updated; scheduled_at only moves jobs that have
        not started.
        """
        values = self._encode_changes(changes)
        allowed = _RESCHEDULABLE if "scheduled_at" in values else _UPDATABLE
        with self._connection(conn) as connection:
            if values:
                updated = self.run(
                    self.dialect.update_job(UpdateJob(job_id, allowed, values)),
                    conn=connection,
                )
                if not updated:
                    job = self._existing(job_id, connection)
                    raise _not_allowed("update", job, "not running")
            return self._existing(job_id, connection)

    def update_with(
        self,
        job_id: int,
        function: Callable[[Job], dict[str, Any]],
        *,
        conn: Connection | None = None,
    ) -> Job:
        """Update a job with the changes ``function(job)`` returns, atomically.

        The job's row stays locked from the read to the write, so no other
        change can slip in between.
        """
        with self._connection(conn) as connection:
            row = self.run(self.dialect.lock_job(job_id), conn=connection)
            if row is None:
                raise JobNotFound(job_id)
            changes = function(self.decode(row))
            if not isinstance(changes, dict):
                raise ValidationError(
                    f"update_with's function must return a dict of changes, not {changes!r}"
                )
            return self.update(job_id, conn=connection, **changes)

    def _transition(
        self,
        job_id: int,
        from_states: frozenset[JobState],
        to_state: JobState,
        action: str,
        conn: Connection | None,
    ) -> Job:
        with self._connection(conn) as connection:
            moved = self.run(
                self.dialect.transition_job(
                    TransitionJob(job_id, from_states, to_state)
                ),
                conn=connection,
            )
            job = self._existing(job_id, connection)
            if not moved:
                names = ", ".join(sorted(state.value for state in from_states))
                raise _not_allowed(action, job, names)
            return job

    def _existing(self, job_id: int, connection: Connection) -> Job:
        job = self.get(job_id, conn=connection)
        if job is None:
            raise JobNotFound(job_id)
        return job

    def _encode_changes(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(_UPDATE_FIELDS)
        if unknown:
            raise ValidationError(
                f"cannot update {', '.join(sorted(unknown))}; updatable fields are: "
                f"{', '.join(_UPDATE_FIELDS)}"
            )
        values: dict[str, Any] = {}
        if "priority" in changes:
            check_int("priority", changes["priority"], 1, 4)
            values["priority"] = changes["priority"]
        if "max_attempts" in changes:
            check_int("max_attempts", changes["max_attempts"], 1, MAX_ATTEMPTS_LIMIT)
            values["max_attempts"] = changes["max_attempts"]
        if "queue" in changes:
            check_name("queue", changes["queue"])
            values["queue"] = changes["queue"]
        if "tags" in changes:
            values["tags"] = json.dumps(check_tags(changes["tags"]))
        if "metadata" in changes:
            metadata = changes["metadata"]
            if not isinstance(metadata, dict):
                raise ValidationError("metadata must be a dict (a JSON object)")
            values["metadata"] = self.serializer.dumps(metadata, what="metadata")
        if "scheduled_at" in changes:
            scheduled_at = check_aware("scheduled_at", changes["scheduled_at"])
            if scheduled_at is None:
                raise ValidationError("scheduled_at cannot be None in an update")
            values["scheduled_at"] = scheduled_at
        return values

    # -- queues ---------------------------------------------------------------------

    def upsert_queue(
        self,
        name: str,
        metadata: dict[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> Queue:
        """Create queue ``name`` or replace its metadata; its pause state stays."""
        check_name("queue", name)
        encoded = (
            None
            if metadata is None
            else self.serializer.dumps(metadata, what="metadata")
        )
        return self._upsert_queue(UpsertQueue(name, metadata=encoded), conn)

    def pause_queue(self, name: str, *, conn: Connection | None = None) -> Queue:
        """Stop every worker from fetching jobs of ``name`` (running ones finish).

        Workers notice within one poll interval. Pausing a queue that has no
        row yet creates it, paused.
        """
        check_name("queue", name)
        return self._upsert_queue(UpsertQueue(name, paused=True), conn)

    def resume_queue(self, name: str, *, conn: Connection | None = None) -> Queue:
        """Let workers fetch jobs of ``name`` again."""
        check_name("queue", name)
        return self._upsert_queue(UpsertQueue(name, paused=False), conn)

    def get_queue(self, name: str, *, conn: Connection | None = None) -> Queue | None:
        row = self.run(self.dialect.get_queue(name), conn=conn, read_only=True)
        return None if row is None else self._decode_queue(row)

    def list_queues(self, *, conn: Connection | None = None) -> builtins.list[Queue]:
        """Every queue that has a row, by name."""
        rows = self.run(self.dialect.list_queues(), conn=conn, read_only=True)
        return [self._decode_queue(row) for row in rows]

    def _upsert_queue(self, params: UpsertQueue, conn: Connection | None) -> Queue:
        with self._connection(conn) as connection:
            self.run(self.dialect.upsert_queue(params), conn=connection)
            if params.paused is False:  # idle workers may claim at once
                self.run(self.dialect.notify_inserted([params.name]), conn=connection)
            row = self.run(self.dialect.get_queue(params.name), conn=connection)
        return self._decode_queue(row)

    def _decode_queue(self, row: Any) -> Queue:
        return Queue(
            name=row.name,
            metadata=self.serializer.loads(row.metadata),
            paused_at=row.paused_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def _not_allowed(action: str, job: Job, allowed: str) -> InvalidTransition:
    return InvalidTransition(
        f"cannot {action} job {job.id}: it is {job.state.value}; only {allowed} "
        f"jobs can be {_past(action)}"
    )


def _past(action: str) -> str:
    return {"retry": "retried", "cancel": "cancelled", "discard": "discarded"}.get(
        action, f"{action}d"
    )
