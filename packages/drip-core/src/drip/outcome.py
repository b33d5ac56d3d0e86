"""What the worker records for a job once its handler has returned or raised."""

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING, Any

from drip.job import Job, JobError

if TYPE_CHECKING:
    from drip.serializers import Serializer

__all__ = ["NO_OUTPUT", "Outcome", "OutcomeKind", "metadata_with_output"]


class OutcomeKind(enum.StrEnum):
    COMPLETED = "completed"  # the handler returned
    RETRY = "retry"  # it failed and has attempts left
    DISCARD = "discard"  # it failed for the last time, or asked to be discarded
    SNOOZE = "snooze"  # it asked to run again later, keeping its attempt
    CANCEL = "cancel"  # it asked to be cancelled


NO_OUTPUT: Any = object()


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """One job's result: what happens next, and the error entry if it failed."""

    kind: OutcomeKind
    error: JobError | None = None
    delay: float | None = None
    output: Any = NO_OUTPUT
    timed_out: bool = False
    attempt_given_back: bool = False  # the run did not count (a snooze, a TTL)


def metadata_with_output(serializer: Serializer, job: Job, output: Any) -> str:
    """The job's metadata with ``output`` recorded in it, as stored JSON text."""
    return serializer.dumps({**job.metadata, "output": output}, what="output")
