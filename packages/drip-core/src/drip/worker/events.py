"""Events the worker's components fire at milestones.

Tests and embedding applications subscribe to wait for something to happen
(a fetch, a job's outcome being stored, the worker stopping) instead of
sleeping. Listeners run synchronously in the worker's event loop and must be
quick; an exception from one is logged and otherwise ignored.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["Event", "EventKind", "Events"]

logger = logging.getLogger(__name__)


class EventKind(enum.StrEnum):
    STARTED = "started"  # the worker is fetching
    FETCHED = "fetched"  # a producer claimed jobs: data queue, count
    JOB_STARTED = "job_started"  # a handler is about to run: data job
    JOB_FINISHED = "job_finished"  # an outcome was stored: data job, outcome
    QUEUE_EMPTY = "queue_empty"  # a claim found nothing due: data queue
    STOPPING = "stopping"  # fetching stopped; running jobs are draining
    STOPPED = "stopped"  # the worker has stopped: data summary


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    data: dict[str, Any]


Listener = Callable[[Event], None]


class Events:
    """A list of listeners, each called with every event."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event; return a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def listening(self) -> bool:
        """Whether anyone listens; callers on hot paths skip building events."""
        return bool(self._listeners)

    def emit(self, kind: EventKind, **data: Any) -> None:
        if not self._listeners:
            return
        event = Event(kind, data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception(
                    "event listener failed", extra={"action": "event", "event": kind}
                )
