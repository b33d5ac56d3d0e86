"""Runners: long-lived tasks that run claimed jobs, one job per runner at a time.

Starting a task for every job costs more than running a no-op job, so the
worker starts ``concurrency`` runners once. Producers dispatch claimed jobs
onto a shared queue; a runner that finishes a job takes the next one without
waiting, and idle runners are woken only while jobs are queued. Slots still
bound how many jobs are claimed, so no job waits long for a runner.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable

import anyio

from drip.job import Job
from drip.worker.slots import Slots

__all__ = ["Runners"]

logger = logging.getLogger(__name__)

Execute = Callable[[Job], Awaitable[None]]
GiveBack = Callable[[list[Job]], Awaitable[None]]


class Runners:
    """Runs dispatched jobs on ``count`` runner tasks, releasing a slot per job.

    When the runners are cancelled (the worker stops), jobs dispatched but not
    yet started are handed to ``give_back``, so none is left running in the
    database.
    """

    def __init__(
        self, count: int, *, execute: Execute, give_back: GiveBack, slots: Slots
    ) -> None:
        self._count = count
        self._execute = execute
        self._give_back = give_back
        self._slots = slots
        self._queued: deque[Job] = deque()
        self._idle: deque[anyio.Event] = deque()

    def dispatch(self, job: Job) -> None:
        """Queue ``job`` and wake an idle runner for it."""
        self._queued.append(job)
        if self._idle:
            self._idle.popleft().set()

    async def run(self) -> None:
        """Run jobs until cancelled; then give back the jobs never started."""
        try:
            async with anyio.create_task_group() as runners:
                for number in range(self._count):
                    runners.start_soon(self._runner, name=f"drip-runner-{number}")
        finally:
            unstarted = list(self._queued)
            self._queued.clear()
            if unstarted:
                with anyio.CancelScope(shield=True):
                    await self._give_back(unstarted)
                self._slots.release(len(unstarted))

    async def _runner(self) -> None:
        queued = self._queued
        while True:
            while not queued:
                woken = anyio.Event()
                self._idle.append(woken)
                await woken.wait()
            job = queued.popleft()
            try:
                await self._execute(job)
            finally:
                self._slots.release()
