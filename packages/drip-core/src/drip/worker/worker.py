"""The worker: producers, executors and a completer working together."""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from drip.client import Client
from drip.durations import Duration, parse_duration
from drip.exceptions import ConfigurationError
from drip.handlers import HandlerFunction, HandlerSpec, Registry
from drip.job import DEFAULT_QUEUE, Job
from drip.maintenance import Maintainer, MaintenanceConfig
from drip.maintenance_plans import Heartbeat
from drip.middleware import Middleware
from drip.periodic import Periodic
from drip.plan import Plan
from drip.plugins import plugin_manager
from drip.retry import RetryPolicy, resolve_retry_policy
from drip.worker.completer import Completer
from drip.worker.events import EventKind, Events
from drip.worker.executor import Executor
from drip.worker.producer import Producer
from drip.worker.runners import Runners
from drip.worker.slots import Slots

__all__ = ["DEFAULT_CONCURRENCY", "Worker", "new_worker_id"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DATABASE_THREADS = 4

# Jobs run at once by default. Waiting async handlers cost little, and claims
# take up to the free slots, so a low default caps throughput at a claim's
# round trip; lower it for handlers that hold scarce resources (threads for
# sync handlers, connections from a small pool, memory).
DEFAULT_CONCURRENCY = 100


def new_worker_id() -> str:
    """An identity unique to this worker, even among processes on one host."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs the handlers of the jobs in ``queues`` until stopped.

    ``concurrency`` jobs run at once, shared by all queues. Idle producers
    check for due jobs every ``poll_interval`` (sooner when woken by an
    insert notification). ``stop()`` (or SIGINT/SIGTERM under ``run_sync``)
    stops fetching and lets running jobs finish for up to ``shutdown_grace``;
    jobs still running then are recorded for retry. With ``burst`` the worker
    stops by itself once every queue has no due job left.
    """

    def __init__(
        self,
        client: Client,
        handlers: Registry
        | Mapping[str, HandlerSpec]
        | Iterable[HandlerSpec | HandlerFunction],
        *,
        queues: Sequence[str] = (DEFAULT_QUEUE,),
        concurrency: int = DEFAULT_CONCURRENCY,
        poll_interval: Duration = 1.0,
        shutdown_grace: Duration = 30.0,
        timeout: Duration | None = None,
        retry: RetryPolicy | str | None = None,
        middleware: Sequence[Middleware] | None = None,
        max_batch: int = 100,
        burst: bool = False,
        worker_id: str | None = None,
        maintenance: MaintenanceConfig | None = None,
        periodic: Sequence[Periodic] = (),
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError(
                f"concurrency must be at least 1, not {concurrency}"
            )
        if not queues:
            raise ConfigurationError("a worker needs at least one queue")

        self.client = client
        self.handlers = _registry(handlers)
        self.queues = list(dict.fromkeys(queues))
        self.concurrency = concurrency
        self.poll_interval = parse_duration(
            poll_interval, name="poll_interval"
        ).total_seconds()
        self.shutdown_grace = parse_duration(
            shutdown_grace, name="shutdown_grace"
        ).total_seconds()
        self.default_timeout: timedelta | None = (
            None if timeout is None else parse_duration(timeout, name="timeout")
        )
        self.default_retry = resolve_retry_policy(retry)
        self.middleware = client.middleware if middleware is None else list(middleware)
        self.max_batch = max_batch
        # Half the slots per claim, so that two claims in flight overlap with
        # running jobs (see drip.worker.producer).
        self.claim_size = max(1, min(max_batch, -(-concurrency // 2)))
        self.burst = burst
        self.id = worker_id or new_worker_id()
        self.events = Events()
        self.maintenance = maintenance or MaintenanceConfig()
        self.periodic = list(periodic)
        for schedule in self.periodic:
            if schedule.kind not in self.handlers:
                logger.warning(
                    "periodic schedule for kind %r has no handler in this worker; "
                    "its jobs will be discarded by workers without one",
                    schedule.kind,
                    extra={"action": "periodic", "kind": schedule.kind},
                )

        self._stop_requested: anyio.Event | None = None
        self._abort: anyio.Event | None = None
        self._stopping = False
        self._aborting = False
        self._database_limiter: anyio.CapacityLimiter | None = None

    # -- running --------------------------------------------------------------

    def run_sync(self) -> dict[str, int]:
        """Run until SIGINT/SIGTERM (a second signal stops at once); return counts."""
        return anyio.run(self._run_with_signals)

    async def run(self) -> dict[str, int]:
        """Run until ``stop()`` is called or the task is cancelled; return counts."""
        self._stop_requested = anyio.Event()
        self._abort = anyio.Event()
        if self._stopping:
            self._stop_requested.set()
        if self._aborting:
            self._abort.set()
        self._database_limiter = anyio.CapacityLimiter(DATABASE_THREADS)
        slots = Slots(self.concurrency)
        completer = Completer(
            dialect=self.client.dialect,
            worker_id=self.id,
            serializer=self.client.serializer,
            run_plan=self._run_plan,
            events=self.events,
            buffer=self.concurrency * 2,
        )
        executor = Executor(
            client=self.client,
            handlers=self.handlers,
            worker_id=self.id,
            record=completer.submit,
            record_nowait=completer.submit_nowait,
            middleware=self.middleware,
            default_timeout=self.default_timeout,
            default_retry=self.default_retry,
            thread_limiter=anyio.CapacityLimiter(self.concurrency),
        )

        await self._run_plan(self.client.dialect.check_schema())
        self._log_start()
        runners = Runners(
            self.concurrency,
            execute=executor.execute,
            interrupted=executor.interrupted,
            give_back=executor.give_back,
            slots=slots,
        )
        async with anyio.create_task_group() as outer:
            outer.start_soon(completer.run)
            try:
                async with anyio.create_task_group() as executions:
                    executions.start_soon(runners.run)
                    await self._fetch_until_stopped(
                        runners.dispatch, slots, executor, completer
                    )
                    await self._drain(slots, executions)
            finally:
                completer.close()

        summary = dict(completer.counts)
        self._log_stop(summary)
        plugin_manager().hook.drip_worker_stopped(worker_id=self.id, summary=summary)
        self.events.emit(EventKind.STOPPED, summary=summary)
        return summary

    def abort(self) -> None:
        """Stop now: cancel running jobs at once and record them for retry."""
        self.stop()
        self._aborting = True
        if self._abort is not None:
            self._abort.set()

    def stop(self) -> None:
        """Stop fetching and drain: running jobs get ``shutdown_grace`` to finish."""
        self._stopping = True
        if self._stop_requested is not None:
            self._stop_requested.set()

    async def _fetch_until_stopped(
        self,
        dispatch: Any,
        slots: Slots,
        executor: Executor,
        completer: Completer,
    ) -> None:
        producers = [
            Producer(
                queue,
                worker_id=self.id,
                fetch=self._claim,
                dispatch=dispatch,
                slots=slots,
                events=self.events,
                poll_interval=self.poll_interval,
                max_batch=self.claim_size,
                excluded_ids=lambda: frozenset(executor.overrunning),
            )
            for queue in self.queues
        ]
        by_queue = {producer.queue: producer for producer in producers}

        async with anyio.create_task_group() as fetching:
            for producer in producers:
                fetching.start_soon(producer.run)
            fetching.start_soon(self._promote_due_jobs, producers)
            fetching.start_soon(self._watch_cancellations, executor)
            fetching.start_soon(self._heartbeat, executor)
            if self.maintenance.enabled:
                fetching.start_soon(self._maintainer().run)
            if self.client.dialect.supports_listen:
                fetching.start_soon(self._listen, by_queue)
            if self.burst:
                fetching.start_soon(self._stop_when_empty, slots, producers, completer)

            plugin_manager().hook.drip_worker_started(
                worker_id=self.id, queues=self.queues, kinds=sorted(self.handlers)
            )
            self.events.emit(EventKind.STARTED, worker_id=self.id)
            assert self._stop_requested is not None
            await self._stop_requested.wait()
            fetching.cancel_scope.cancel()

    async def _drain(self, slots: Slots, executions: anyio.abc.TaskGroup) -> None:
        self.events.emit(EventKind.STOPPING)
        if slots.busy:
            logger.info(
                "stopping: waiting up to %.0fs for %s running jobs",
                self.shutdown_grace,
                slots.busy,
                extra={"action": "drain", "running": slots.busy},
            )
        with anyio.move_on_after(self.shutdown_grace):
            async with anyio.create_task_group() as waiting:

                async def until(event_wait: Any) -> None:
                    await event_wait()
                    waiting.cancel_scope.cancel()

                waiting.start_soon(until, slots.wait_all_free)
                if self._abort is not None:
                    waiting.start_soon(until, self._abort.wait)
        if slots.busy:
            logger.warning(
                "grace period over: cancelling %s running jobs for retry",
                slots.busy,
                extra={"action": "drain", "running": slots.busy},
            )
        executions.cancel_scope.cancel()

    async def _promote_due_jobs(self, producers: list[Producer]) -> None:
        while True:
            if await self._promote_once():
                for producer in producers:
                    producer.wake()
            await anyio.sleep(self.poll_interval)

    async def _promote_once(self) -> int | None:
        """Make due jobs available; how many, or None if the database failed."""
        try:
            return await self._run_plan(self.client.dialect.promote_due_jobs())
        except Exception as error:
            logger.warning(
                "promoting due jobs failed, trying again at the next poll: %s",
                error,
                extra={"action": "promote"},
            )
            return None

    async def _heartbeat(self, executor: Executor) -> None:
        """Refresh the heartbeat of running jobs, so that none is rescued.

        A job that is no longer this worker's (rescued after a stall longer
        than the rescue window) is cancelled here, so that it never runs twice.
        """

        async def refresh(running: list[int]) -> list[int]:
            plan = self.client.dialect.heartbeat_jobs(Heartbeat(self.id, running))
            return await self._run_plan(plan)

        def stop_lost(lost: list[int]) -> None:
            # Jobs that finished meanwhile are not lost; only those still running.
            lost = [job_id for job_id in lost if job_id in executor.running]
            if lost:
                logger.warning(
                    "jobs %s are no longer this worker's; stopping them",
                    lost,
                    extra={"action": "heartbeat", "lost": lost},
                )
                executor.request_cancel(lost)

        await self._poll_running(
            executor,
            self.maintenance.seconds("heartbeat_interval"),
            refresh,
            stop_lost,
            failure="heartbeat failed",
            action="heartbeat",
        )

    def _maintainer(self) -> Maintainer:
        def retry_policy_for(kind: str) -> RetryPolicy | None:
            spec = self.handlers.get(kind)
            return (spec.retry if spec else None) or self.default_retry

        return Maintainer(
            client=self.client,
            config=self.maintenance,
            identity=self.id,
            run_plan=self._run_plan,
            retry_policy_for=retry_policy_for,
            schedules=self.periodic,
        )

    async def _watch_cancellations(self, executor: Executor) -> None:
        """Pass cancellations requested for running jobs on to their executions."""

        async def requested(running: list[int]) -> list[int]:
            plan = self.client.dialect.cancel_requested(running)
            return await self._run_plan(plan, read_only=True)

        await self._poll_running(
            executor,
            self.poll_interval,
            requested,
            executor.request_cancel,
            failure="checking for cancelled jobs failed",
            action="watch_cancellations",
        )

    async def _poll_running(
        self,
        executor: Executor,
        interval: float,
        ask: Callable[[list[int]], Awaitable[list[int]]],
        act: Callable[[list[int]], None],
        *,
        failure: str,
        action: str,
    ) -> None:
        """Every ``interval``, ``ask`` about the running jobs and ``act`` on the
        ids returned; a failed question is logged and asked again next time."""
        while True:
            await anyio.sleep(interval)
            running = list(executor.running)
            if not running:
                continue
            try:
                found = await ask(running)
            except Exception as error:
                logger.error("%s: %s", failure, error, extra={"action": action})
                continue
            act(found)

    async def _listen(self, producers: dict[str, Producer]) -> None:
        def wake(queue: str) -> None:
            producer = producers.get(queue)
            if producer is not None:
                producer.wake()

        await self.client.dialect.listen(self.client.engine, wake)

    async def _stop_when_empty(
        self, slots: Slots, producers: list[Producer], completer: Completer
    ) -> None:
        """In burst mode: stop once no queue has a due job and nothing runs.

        Idle means every producer's last claim found nothing, no job runs and
        every outcome is stored. The worker stops only after an idle round
        that followed a promotion finding nothing due: jobs promoted by any
        task are then certain to have been seen by the claims.
        """
        empty: set[str] = set()
        idle = anyio.Event()
        confirmed = False

        def on_event(event: Any) -> None:
            nonlocal confirmed
            if event.kind is EventKind.FETCHED:
                empty.discard(event.data["queue"])
                confirmed = False
            elif event.kind is EventKind.QUEUE_EMPTY:
                empty.add(event.data["queue"])
                if (
                    empty.issuperset(self.queues)
                    and slots.busy == 0
                    and completer.pending == 0
                ):
                    idle.set()

        unsubscribe = self.events.subscribe(on_event)
        try:
            while True:
                await idle.wait()
                # A failed promotion may have left due jobs: not a confirmation.
                promoted = await self._promote_once()
                if promoted == 0 and confirmed:
                    break
                confirmed = promoted == 0
                empty.clear()
                idle = anyio.Event()
                for producer in producers:
                    producer.wake()
            logger.info("burst: no due jobs left; stopping", extra={"action": "burst"})
            self.stop()
        finally:
            unsubscribe()

    # -- the database, from the event loop -------------------------------------

    async def _claim(self, params: Any) -> list[Job]:
        dialect = self.client.dialect
        rows = await self._run_plan(
            dialect.claim_jobs(params), autocommit=dialect.claims_in_autocommit
        )
        return [self.client.decode(row) for row in rows]

    async def _run_plan(
        self, plan: Plan[T], *, autocommit: bool = False, read_only: bool = False
    ) -> T:
        run = functools.partial(
            self.client.run, plan, autocommit=autocommit, read_only=read_only
        )
        return await anyio.to_thread.run_sync(run, limiter=self._database_limiter)

    # -- signals and logs ---------------------------------------------------------

    async def _run_with_signals(self) -> dict[str, int]:
        summary: dict[str, int] = {}
        async with anyio.create_task_group() as group:

            async def run_then_stop_watching() -> None:
                summary.update(await self.run())
                group.cancel_scope.cancel()

            group.start_soon(self._watch_signals, group.cancel_scope)
            group.start_soon(run_then_stop_watching)
        return summary

    async def _watch_signals(self, scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for received in signals:
                if self._aborting:
                    logger.warning(
                        "third signal: exiting without recording running jobs",
                        extra={"action": "stop"},
                    )
                    scope.cancel()
                    return
                if self._stopping:
                    logger.warning(
                        "second signal: stopping at once; running jobs are "
                        "recorded for retry (send again to exit immediately)",
                        extra={"action": "stop"},
                    )
                    self.abort()
                    continue
                logger.info(
                    "received %s: finishing running jobs (send again to stop at once)",
                    signal.Signals(received).name,
                    extra={"action": "stop"},
                )
                self.stop()

    def _log_start(self) -> None:
        url = self.client.url.render_as_string(hide_password=True)
        logger.info(
            "worker %s starting: database %s, queues %s, concurrency %s, handlers %s",
            self.id,
            url,
            ", ".join(self.queues),
            self.concurrency,
            ", ".join(sorted(self.handlers)) or "(none)",
            extra={"action": "worker_start", "worker_id": self.id},
        )

    def _log_stop(self, summary: dict[str, int]) -> None:
        counts = ", ".join(f"{count} {kind}" for kind, count in sorted(summary.items()))
        logger.info(
            "worker %s stopped: %s",
            self.id,
            counts or "no jobs run",
            extra={"action": "worker_stop", "worker_id": self.id, **summary},
        )


def _registry(handlers: Any) -> Registry:
    if isinstance(handlers, Registry):
        return handlers
    if isinstance(handlers, Mapping):
        return Registry(handlers.values())
    return Registry(handlers)
