"""Unique jobs: which jobs count as duplicates of each other.

A unique job carries a key, a SHA-256 over its kind and the parts of it the
options select, and a mask of the states in which the key is held. The database
enforces one holder per key: a generated column exposes the key only while the
job's state is in its mask, and a unique index covers that column. Every
transition therefore frees or takes the slot by itself, on every dialect.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from drip.durations import Duration, parse_duration
from drip.exceptions import ValidationError
from drip.states import FINAL_STATES, JobState, parse_states, states_mask

__all__ = ["DEFAULT_UNIQUE_STATES", "Unique"]

DEFAULT_UNIQUE_STATES = frozenset(JobState) - {JobState.CANCELLED, JobState.DISCARDED}

# A unique job must hold its key in every state it passes through on the way to
# a final state; otherwise an ordinary transition (a claim, a retry becoming
# available) could collide with a newer duplicate and fail.
_REQUIRED_STATES = frozenset(JobState) - FINAL_STATES


@dataclasses.dataclass(frozen=True, kw_only=True)
class Unique:
    """Options that make a job unique; ``Unique()`` means one job per kind.

    by_args: include all args in the key.
    by_keys: include only these top-level args keys (implies by_args).
    by_period: include the epoch-aligned window of ``scheduled_at`` of this length.
    by_queue: include the queue name.
    by_state: the states in which the key is held (default: all but cancelled
        and discarded). It must contain every non-final state.
    """

    by_args: bool = False
    by_keys: Sequence[str] | None = None
    by_period: Duration | None = None
    by_queue: bool = False
    by_state: Collection[JobState | str] | None = None

    def states(self) -> frozenset[JobState]:
        if self.by_state is None:
            return DEFAULT_UNIQUE_STATES
        if isinstance(self.by_state, str):
            raise ValidationError("unique by_state must be a collection of state names")
        states = frozenset(parse_states(self.by_state))
        missing = _REQUIRED_STATES - states
        if missing:
            names = ", ".join(sorted(state.value for state in missing))
            raise ValidationError(
                f"unique by_state must include every non-final state; add: {names}"
            )
        return states

    def mask(self) -> int:
        return states_mask(self.states())

    def key(
        self, *, kind: str, queue: str, args: dict[str, Any], scheduled_at: datetime
    ) -> str:
        """The hex SHA-256 identifying this job among its duplicates."""
        parts: dict[str, Any] = {"kind": kind}

        if self.by_keys is not None:
            if isinstance(self.by_keys, str):
                raise ValidationError("unique by_keys must be a list of args keys")
            parts["args"] = {key: args[key] for key in self.by_keys if key in args}
        elif self.by_args:
            parts["args"] = args

        if self.by_period is not None:
            period = parse_duration(self.by_period, name="unique by_period")
            seconds = period.total_seconds()
            if seconds <= 0:
                raise ValidationError("unique by_period must be longer than zero")
            parts["period"] = int(scheduled_at.timestamp() // seconds * seconds)

        if self.by_queue:
            parts["queue"] = queue

        canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
