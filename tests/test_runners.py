"""The worker's runners: every dispatched job is run or given back, never dropped."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from drip.worker.runners import Runners
from drip.worker.slots import Slots


class Recorder:
    """Stands in for the executor: records what ran and what was given back."""

    def __init__(self, *, blocking: set[str]) -> None:
        self.blocking = blocking
        self.started: list[str] = []
        self.given_back: list[str] = []
        self.interrupted_jobs: list[str] = []
        self.scopes: list[anyio.CancelScope] = []
        self.all_blocked = anyio.Event()

    async def execute(self, job: Any, scope: anyio.CancelScope) -> None:
        self.started.append(job)
        self.scopes.append(scope)
        if job.startswith("cancel"):
            scope.cancel()  # as a timeout or a cancellation request would
            await anyio.sleep_forever()
        if job in self.blocking:
            if self.blocking <= set(self.started):
                self.all_blocked.set()
            await anyio.sleep_forever()

    async def interrupted(self, job: Any) -> None:
        self.interrupted_jobs.append(job)

    async def give_back(self, jobs: list[Any]) -> None:
        self.given_back.extend(jobs)


def runners_for(recorder: Recorder, count: int, slots: Slots) -> Runners:
    return Runners(
        count,
        execute=recorder.execute,
        interrupted=recorder.interrupted,
        give_back=recorder.give_back,
        slots=slots,
    )


async def run_to_completion(runners: Runners, slots: Slots, jobs: list[str]) -> None:
    """Dispatch ``jobs`` as a producer would, one slot each, until all are done."""
    async with anyio.create_task_group() as group:
        group.start_soon(runners.run)
        for job in jobs:
            await slots.wait_free()
            slots.take(1)
            runners.dispatch(job)  # type: ignore[arg-type]
        with anyio.fail_after(5):
            await slots.wait_all_free()
        group.cancel_scope.cancel()


@pytest.mark.anyio
async def test_each_dispatched_job_runs_once_and_frees_its_slot() -> None:
    recorder = Recorder(blocking=set())
    slots = Slots(3)
    runners = runners_for(recorder, 3, slots)
    jobs = [f"job-{number}" for number in range(9)]

    await run_to_completion(runners, slots, jobs)

    assert sorted(recorder.started) == sorted(jobs)
    assert recorder.given_back == []
    assert slots.free == 3


@pytest.mark.anyio
async def test_jobs_never_started_when_the_runners_stop_are_given_back() -> None:
    recorder = Recorder(blocking={"slow-1", "slow-2"})
    slots = Slots(4)
    runners = runners_for(recorder, 2, slots)

    async with anyio.create_task_group() as group:
        group.start_soon(runners.run)
        slots.take(4)
        for job in ("slow-1", "slow-2", "waiting-1", "waiting-2"):
            runners.dispatch(job)  # type: ignore[arg-type]
        with anyio.fail_after(5):
            await recorder.all_blocked.wait()
        group.cancel_scope.cancel()

    assert sorted(recorder.started) == ["slow-1", "slow-2"]
    assert recorder.given_back == ["waiting-1", "waiting-2"]
    assert slots.free == 4


@pytest.mark.anyio
async def test_a_job_cancelled_through_its_scope_is_interrupted_not_the_next() -> None:
    recorder = Recorder(blocking=set())
    slots = Slots(1)
    runners = runners_for(recorder, 1, slots)

    await run_to_completion(runners, slots, ["before", "cancel-me", "after"])

    assert recorder.started == ["before", "cancel-me", "after"]
    assert recorder.interrupted_jobs == ["cancel-me"]
    before, cancelled, after = recorder.scopes
    assert before is cancelled
    assert after is not cancelled
    assert not after.cancel_called
    assert slots.free == 1
