"""The producer: claims jobs of one queue as slots free up and hands them on."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio

from drip.dialect import ClaimJobs
from drip.exceptions import DripError
from drip.job import Job
from drip.worker.events import EventKind, Events
from drip.worker.slots import Slots

__all__ = ["Producer"]

logger = logging.getLogger(__name__)

Fetch = Callable[[ClaimJobs], Awaitable[list[Job]]]


# Claims one producer keeps in flight. With two, one batch of jobs runs while
# the next batch's claim makes its round trip, instead of the worker idling
# through every claim; each claim still takes only free slots.
CLAIMS_IN_FLIGHT = 2


class Producer:
    """Claims due jobs of one queue, never more than the worker has room for.

    Two claim loops share the work (``CLAIMS_IN_FLIGHT``). After a claim that
    filled every slot it asked for, a loop claims again as soon as a slot
    frees; after a claim that found fewer jobs than it asked for, it waits for
    a wake-up (an insert notification, promoted jobs) or the poll interval.
    """

    def __init__(
        self,
        queue: str,
        *,
        worker_id: str,
        fetch: Fetch,
        dispatch: Callable[[Job], None],
        slots: Slots,
        events: Events,
        poll_interval: float,
        max_batch: int,
        excluded_ids: Callable[[], frozenset[int]],
    ) -> None:
        self.queue = queue
        self.worker_id = worker_id
        self._fetch = fetch
        self._dispatch = dispatch
        self._slots = slots
        self._events = events
        self._poll_interval = poll_interval
        self._max_batch = max_batch
        self._excluded_ids = excluded_ids
        self._wakeup = anyio.Event()

    def wake(self) -> None:
        """Claim again now instead of at the end of the poll interval."""
        self._wakeup.set()

    async def run(self) -> None:
        async with anyio.create_task_group() as loops:
            for _ in range(CLAIMS_IN_FLIGHT):
                loops.start_soon(self._claim_loop)

    async def _claim_loop(self) -> None:
        while True:
            await self._slots.wait_free()
            limit = min(self._slots.free, self._max_batch)
            claimed = await self._claim(limit)

            if claimed < limit:
                if claimed == 0:
                    self._events.emit(EventKind.QUEUE_EMPTY, queue=self.queue)
                await self._wait_for_wakeup()

    async def _claim(self, limit: int) -> int:
        """Claim up to ``limit`` jobs and dispatch them; return how many."""
        self._slots.take(limit)
        jobs: list[Job] = []
        try:
            jobs = await self._fetch(
                ClaimJobs(
                    queue=self.queue,
                    limit=limit,
                    worker_id=self.worker_id,
                    exclude_ids=self._excluded_ids(),
                )
            )
        except DripError as error:
            logger.error(
                "claiming jobs failed: %s",
                error,
                extra={"action": "claim", "queue": self.queue},
            )
        finally:
            self._slots.release(limit - len(jobs))

        for job in jobs:
            self._dispatch(job)
        if jobs:
            logger.debug(
                "claimed %s jobs",
                len(jobs),
                extra={"action": "claim", "queue": self.queue, "count": len(jobs)},
            )
            self._events.emit(EventKind.FETCHED, queue=self.queue, count=len(jobs))
        return len(jobs)

    async def _wait_for_wakeup(self) -> None:
        wakeup = self._wakeup
        with anyio.move_on_after(self._poll_interval):
            await wakeup.wait()
        if self._wakeup is wakeup and wakeup.is_set():
            self._wakeup = anyio.Event()
