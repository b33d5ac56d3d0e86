"""The states a job moves through, and the bit each one has in a state mask."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from drip.exceptions import ValidationError

__all__ = ["FINAL_STATES", "JobState", "parse_states", "states_mask"]


class JobState(enum.StrEnum):
    """Where a job is in its life. The last three are final."""

    AVAILABLE = "available"  # waiting for a worker; claimable once scheduled_at passes
    SCHEDULED = "scheduled"  # waiting for its scheduled_at (new, or snoozed)
    PENDING = "pending"  # held back: never claimed until something releases it
    RUNNING = "running"  # claimed by a worker that is executing its handler
    RETRYABLE = "retryable"  # failed; becomes available again at its scheduled_at
    COMPLETED = "completed"  # its handler succeeded
    CANCELLED = "cancelled"  # stopped on purpose, by an operator or its handler
    DISCARDED = "discarded"  # given up on: attempts exhausted, TTL passed, or discarded

    @property
    def bit(self) -> int:
        """This state's bit in a unique job's state mask (stored in the database)."""
        return _BITS[self]

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


_BITS = {state: 1 << position for position, state in enumerate(JobState)}

FINAL_STATES = frozenset({JobState.COMPLETED, JobState.CANCELLED, JobState.DISCARDED})


def parse_states(values: Iterable[str | JobState]) -> list[JobState]:
    """Turn state names into states, rejecting an unknown name with the valid ones."""
    states = []
    for value in values:
        try:
            states.append(JobState(value))
        except ValueError:
            valid = ", ".join(state.value for state in JobState)
            raise ValidationError(
                f"unknown job state {value!r}; valid states are: {valid}"
            ) from None
    return states


def states_mask(states: Iterable[JobState]) -> int:
    """The bit mask covering ``states``, as stored in ``unique_states``."""
    mask = 0
    for state in states:
        mask |= state.bit
    return mask
