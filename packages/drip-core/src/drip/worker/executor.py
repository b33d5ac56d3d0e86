"""The executor: runs one job's handler and decides the job's outcome."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from drip.context import JobContext
from drip.durations import parse_duration
from drip.exceptions import Cancel, Discard, Snooze, ValidationError
from drip.handlers import HandlerSpec
from drip.job import Job, JobError
from drip.middleware import Middleware, chain_execute
from drip.outcome import Outcome, OutcomeKind
from drip.plugins import plugin_manager
from drip.retry import RetryPolicy, retry_delay

__all__ = ["Executor"]

logger = logging.getLogger(__name__)

Record = Callable[[Job, Outcome, float], Awaitable[None]]
RecordNowait = Callable[[Job, Outcome, float], bool]

SHUTDOWN_MESSAGE = "the worker shut down before the job finished"


class Executor:
    """Runs handlers with their timeout and middleware, and records outcomes.

    A sync handler runs in a thread. A thread cannot be stopped, so when one
    overruns its timeout the job is recorded as timed out at once, but the
    execution keeps its slot, and the job id stays excluded from this worker's
    claims, until the call returns: the worker never runs a twin of it.
    """

    def __init__(
        self,
        *,
        client: Any,
        handlers: dict[str, HandlerSpec] | Any,
        worker_id: str,
        record: Record,
        record_nowait: RecordNowait,
        middleware: Sequence[Middleware],
        default_timeout: timedelta | None,
        default_retry: RetryPolicy,
        thread_limiter: anyio.CapacityLimiter,
    ) -> None:
        self._client = client
        self._handlers = handlers
        self._worker_id = worker_id
        self._record = record
        self._record_nowait = record_nowait
        self._call = chain_execute(middleware, self._invoke)
        # Calling a hook nobody implements still costs; check once per worker.
        self._announce_start = bool(
            plugin_manager().hook.drip_job_started.get_hookimpls()
        )
        self._default_timeout = default_timeout
        self._default_retry = default_retry
        self._thread_limiter = thread_limiter
        self.overrunning: set[int] = set()
        self.running: dict[int, _Run] = {}

    async def execute(self, job: Job, scope: anyio.CancelScope) -> None:
        """Run ``job`` inside its runner's ``scope`` and record its outcome.

        The runner's scope is shared by the jobs it runs one after another, so
        a job costs no scope of its own: its timeout becomes the scope's
        deadline, and a cancellation request cancels the scope. Either way the
        cancellation propagates out of this call; the runner catches it at
        its scope and calls ``interrupted``, which records the outcome. A
        cancellation from outside (the worker shutting down) is recorded here.
        """
        spec = self._handlers.get(job.kind)
        if spec is None:
            await self._store(job, self._unknown_kind(job), 0.0)
            return
        if _expired(job):
            await self._store(job, self._expired_outcome(job), 0.0)
            return

        context = JobContext(job, self._client, self._worker_id)
        if self._announce_start:
            plugin_manager().hook.drip_job_started(job=job, worker_id=self._worker_id)
        run = _Run(spec, context, scope, self._timeout(job, spec))
        if run.timeout is not None:
            scope.deadline = anyio.current_time() + run.timeout
        self.running[job.id] = run
        try:
            outcome = await self._run(spec, context)
        except anyio.get_cancelled_exc_class():
            if scope.cancel_called:
                raise  # its timeout or a cancellation request: see interrupted()
            del self.running[job.id]
            context._stop_requested = True
            outcome = self._failure(job, spec, SHUTDOWN_MESSAGE, kind="shutdown")
            await self._store(job, outcome, run.elapsed())
            raise
        except BaseException:
            del self.running[job.id]
            raise

        del self.running[job.id]
        if run.timeout is not None:
            scope.deadline = math.inf
        if context._cancel_requested:
            # A handler that noticed the request (or swallowed it) returned.
            outcome = self._cancelled_by_request(job)
        await self._store(job, outcome, run.elapsed())

    async def interrupted(self, job: Job) -> None:
        """Record the outcome of a job its runner's scope cancelled.

        A cancellation request makes it cancelled; otherwise its deadline
        passed and it timed out. A sync handler's thread cannot be stopped:
        the runner (and the job's slot) stays with it until the call returns.
        Nothing happens for a job ``execute`` has recorded already (stopped by
        the worker's shutdown rather than by its own scope).
        """
        run = self.running.pop(job.id, None)
        if run is None:
            return
        context = run.context
        context._stop_requested = True
        if context._cancel_requested:
            outcome = self._cancelled_by_request(job)
        else:
            message = f"the job did not finish within its timeout of {run.timeout}s"
            outcome = self._failure(job, run.spec, message, kind="timeout")
        await self._store(job, outcome, run.elapsed())
        if context._thread_done is not None:
            await self._wait_for_overrunning_thread(job, context._thread_done)

    async def _store(self, job: Job, outcome: Outcome, duration: float) -> None:
        """Hand the outcome on, even while this task is being cancelled.

        A handler may swallow a shutdown's cancellation and return; its outcome
        must still reach the completer, or the job would stay running. The
        hand-off is immediate unless the completer's buffer is full.
        """
        if self._record_nowait(job, outcome, duration):
            return
        with anyio.CancelScope(shield=True):
            await self._record(job, outcome, duration)

    async def give_back(self, jobs: list[Job]) -> None:
        """Return claimed jobs that never started: runnable again, attempt unused."""
        for job in jobs:
            logger.info(
                "job %s %s was never started; giving it back",
                job.id,
                job.kind,
                extra=_log_extra(job, "give_back"),
            )
            outcome = Outcome(OutcomeKind.SNOOZE, delay=0.0)  # a snooze gives it back
            await self._store(job, outcome, 0.0)

    def request_cancel(self, job_ids: list[int]) -> None:
        """Cancel these running jobs: async handlers now, sync ones by their flag."""
        for job_id in job_ids:
            run = self.running.get(job_id)
            if run is None:
                continue
            run.context._cancel_requested = True
            if run.spec.is_async:
                run.scope.cancel()

    async def _run(self, spec: HandlerSpec, context: JobContext) -> Outcome:
        """Call the handler through the middleware; what it decided, as an outcome.

        A timeout or a cancellation request is not decided here: the caller's
        scope catches it and ``execute`` turns it into the outcome.
        """
        job = context.job
        try:
            await self._call(context)
        except Snooze as snooze:
            return self._snooze(job, spec, snooze)
        except Cancel as cancel:
            return Outcome(
                OutcomeKind.CANCEL, error=self._entry(job, "cancelled", cancel.reason)
            )
        except Discard as discard:
            return Outcome(
                OutcomeKind.DISCARD, error=self._entry(job, "discarded", discard.reason)
            )
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as error:
            # SystemExit or KeyboardInterrupt from a handler is its failure,
            # not the worker's: record it like any other exception.
            return self._failure(job, spec, error)
        return Outcome(OutcomeKind.COMPLETED, output=context.output)

    async def _invoke(self, context: JobContext) -> Any:
        """The innermost layer: call the handler itself."""
        spec = self._handlers[context.job.kind]
        if spec.is_async:
            return await spec.function(context)

        done = anyio.Event()
        context._thread_done = done
        call = functools.partial(_call_then_signal, spec.function, context, done)
        return await anyio.to_thread.run_sync(
            call, abandon_on_cancel=True, limiter=self._thread_limiter
        )

    async def _wait_for_overrunning_thread(self, job: Job, done: anyio.Event) -> None:
        if done.is_set():
            return
        logger.warning(
            "job %s %s: its handler's thread is still running after the timeout; "
            "holding its slot until it returns",
            job.id,
            job.kind,
            extra=_log_extra(job, "overrun"),
        )
        self.overrunning.add(job.id)
        try:
            await done.wait()
        finally:
            self.overrunning.discard(job.id)

    def _timeout(self, job: Job, spec: HandlerSpec) -> float | None:
        timeout = job.timeout or spec.timeout or self._default_timeout
        return None if timeout is None else timeout.total_seconds()

    def _snooze(self, job: Job, spec: HandlerSpec, snooze: Snooze) -> Outcome:
        try:
            delay = parse_duration(snooze.delay, name="snooze delay").total_seconds()
        except ValidationError as error:
            return self._failure(job, spec, error)
        return Outcome(OutcomeKind.SNOOZE, delay=delay)

    def _failure(
        self,
        job: Job,
        spec: HandlerSpec | None,
        error: BaseException | str,
        *,
        kind: str | None = None,
    ) -> Outcome:
        if isinstance(error, BaseException):
            entry = self._entry(
                job,
                kind or _qualified_name(type(error)),
                _describe(error),
                "".join(traceback.format_exception(error)),
            )
        else:
            entry = self._entry(job, kind or "error", error)

        if job.attempts_exhausted:
            return Outcome(
                OutcomeKind.DISCARD, error=entry, timed_out=kind == "timeout"
            )
        # A shutdown is not the job's fault: it may run again at once elsewhere.
        delay = 0.0 if kind == "shutdown" else self._retry_delay(job, spec)
        return Outcome(
            OutcomeKind.RETRY, error=entry, delay=delay, timed_out=kind == "timeout"
        )

    def _retry_delay(self, job: Job, spec: HandlerSpec | None) -> float:
        return retry_delay(
            spec.retry if spec else None,
            job.attempt,
            fallback=self._default_retry,
            job_id=job.id,
        )

    def _cancelled_by_request(self, job: Job) -> Outcome:
        entry = self._entry(job, "cancelled", "cancelled by request while running")
        return Outcome(OutcomeKind.CANCEL, error=entry)

    def _expired_outcome(self, job: Job) -> Outcome:
        entry = self._entry(
            job,
            "ttl_expired",
            f"the job did not start within its time to live of {job.ttl}",
        )
        return Outcome(OutcomeKind.DISCARD, error=entry, attempt_given_back=True)

    def _unknown_kind(self, job: Job) -> Outcome:
        entry = self._entry(
            job,
            "unknown_kind",
            f"no handler is registered for kind {job.kind!r} in this worker; "
            "the job was discarded",
        )
        return Outcome(OutcomeKind.DISCARD, error=entry)

    def _entry(
        self, job: Job, kind: str, message: str, trace: str | None = None
    ) -> JobError:
        return JobError(
            attempt=job.attempt,
            at=datetime.now(UTC),
            type=kind,
            message=_bounded(message),
            traceback=None if trace is None else _bounded(trace),
            worker=self._worker_id,
        )


@dataclasses.dataclass(slots=True)
class _Run:
    """A job while its handler runs: what ``interrupted`` needs to record it."""

    spec: HandlerSpec
    context: JobContext
    scope: anyio.CancelScope
    timeout: float | None
    started: float = dataclasses.field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


MAX_ERROR_TEXT = 32_768


def _bounded(text: str) -> str:
    """``text``, cut to a size every database stores in one row, saying so."""
    if len(text) <= MAX_ERROR_TEXT:
        return text
    return f"{text[:MAX_ERROR_TEXT]}... [{len(text) - MAX_ERROR_TEXT} characters cut]"


def _describe(error: BaseException) -> str:
    """The error's message; its type's name if it has none or cannot say it."""
    try:
        return str(error) or type(error).__name__
    except Exception:
        return f"{type(error).__name__} (its message could not be read)"


def _call_then_signal(
    function: Callable[[JobContext], Any], context: JobContext, done: anyio.Event
) -> Any:
    try:
        return function(context)
    finally:
        # RuntimeError: the event loop has already ended and nobody is waiting.
        with contextlib.suppress(RuntimeError):
            anyio.from_thread.run_sync(done.set)


def _expired(job: Job) -> bool:
    """Whether the job was claimed only after its time to live ran out.

    Both timestamps come from the database's clock.
    """
    if job.ttl is None or job.attempted_at is None:
        return False
    return job.attempted_at - job.created_at > job.ttl


def _qualified_name(error_type: type[BaseException]) -> str:
    module = error_type.__module__
    if module == "builtins":
        return error_type.__qualname__
    return f"{module}.{error_type.__qualname__}"


def _log_extra(job: Job, action: str) -> dict[str, Any]:
    return {
        "action": action,
        "job_id": job.id,
        "kind": job.kind,
        "queue": job.queue,
        "attempt": job.attempt,
    }
