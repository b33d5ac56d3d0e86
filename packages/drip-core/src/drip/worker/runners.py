"""Runners: long-lived tasks that run claimed jobs, one job per runner at a time.

Starting a task and a cancel scope for every job costs more than running a
no-op job, so the worker starts ``concurrency`` runners once, each with a
cancel scope it keeps until a job's timeout or cancellation uses it up.
Producers dispatch claimed jobs onto a shared queue; a runner that finishes a
job takes the next one without waiting, and an idle runner is woken for each
job dispatched. Slots bound how many jobs are claimed, so there is always a
runner for every queued job.
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

Execute = Callable[[Job, anyio.CancelScope], Awaitable[None]]
Interrupted = Callable[[Job], Awaitable[None]]
GiveBack = Callable[[list[Job]], Awaitable[None]]


class Runners:
    """Runs dispatched jobs on ``count`` runner tasks, releasing a slot per job.

    When the runners are cancelled (the worker stops), jobs dispatched but not
    yet started are handed to ``give_back``, so none is left running in the
    database.
    """

    def __init__(
        self,
        count: int,
        *,
        execute: Execute,
        interrupted: Interrupted,
        give_back: GiveBack,
        slots: Slots,
    ) -> None:
        self._count = count
        self._execute = execute
        self._interrupted = interrupted
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
        """Run queued jobs one at a time, each inside the runner's cancel scope.

        A job's timeout or a cancellation request cancels the scope; the
        runner then records that job through ``interrupted`` and continues
        with a new scope. A scope whose cancellation was requested is never
        carried over to the next job. When the worker stops while a job is
        being interrupted, the stop's cancellation passes through the scope,
        and the job is still recorded on the way out.
        """
        queued = self._queued
        while True:
            job: Job | None = None
            try:
                with anyio.CancelScope() as scope:
                    while not scope.cancel_called:
                        while not queued:
                            woken = anyio.Event()
                            self._idle.append(woken)
                            await woken.wait()
                        job = queued.popleft()
                        await self._execute(job, scope)
                        job = None
                        self._slots.release()
            finally:
                if job is not None:
                    try:
                        await self._interrupted(job)
                    finally:
                        self._slots.release()
