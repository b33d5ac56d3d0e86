"""The worker runtime: a producer per queue, runners and an executor, one completer."""

from drip.worker.events import Event, EventKind, Events
from drip.worker.worker import Worker, new_worker_id

__all__ = ["Event", "EventKind", "Events", "Worker", "new_worker_id"]
