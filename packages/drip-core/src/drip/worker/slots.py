"""The worker's execution slots: how many more jobs it may take right now."""

from __future__ import annotations

import anyio

__all__ = ["Slots"]


class Slots:
    """A count of free execution slots that producers can wait on.

    Producers take slots when they claim jobs and executors give them back
    when a job is done, waking any producer waiting for room.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        # Created only when someone waits: an Event per release would cost
        # more than the job it frees a slot for.
        self._changed: anyio.Event | None = None

    @property
    def busy(self) -> int:
        return self.total - self.free

    def take(self, count: int) -> None:
        if count > self.free:
            raise RuntimeError(f"took {count} slots with only {self.free} free")
        self.free -= count

    def release(self, count: int = 1) -> None:
        self.free += count
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_free(self) -> None:
        """Return once at least one slot is free."""
        while self.free == 0:
            await self._wait_for_change()

    async def wait_all_free(self) -> None:
        """Return once no job holds a slot."""
        while self.free < self.total:
            await self._wait_for_change()

    async def _wait_for_change(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()
