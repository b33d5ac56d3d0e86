"""The completer: stores job outcomes, many per transaction.

Executors hand outcomes over a bounded stream and move on. The completer takes
whatever has accumulated, stores it in one transaction (plain completions in a
single statement) and then announces each outcome. Under load this batches
naturally; when idle, an outcome is stored as soon as it arrives.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from drip.dialect import CompleteJobs, CompleteWithOutput, Dialect, FinishJob
from drip.exceptions import ConnectionLost, DatabaseError, UniqueConflict
from drip.job import Job, JobError, encode_errors
from drip.outcome import NO_OUTPUT, Outcome, OutcomeKind, metadata_with_output
from drip.plan import Plan
from drip.plugins import plugin_manager
from drip.serializers import Serializer
from drip.states import JobState
from drip.worker.events import EventKind, Events

__all__ = ["Completer"]

logger = logging.getLogger(__name__)

Finished = tuple[Job, Outcome, float]
RunPlan = Callable[[Plan[Any]], Awaitable[Any]]

MAX_BATCH = 500
STORE_ATTEMPTS = 6

_NEXT_STATE = {
    OutcomeKind.COMPLETED: JobState.COMPLETED,
    OutcomeKind.RETRY: JobState.RETRYABLE,
    OutcomeKind.DISCARD: JobState.DISCARDED,
    OutcomeKind.SNOOZE: JobState.SCHEDULED,
    OutcomeKind.CANCEL: JobState.CANCELLED,
}


class Completer:
    """Stores outcomes in batches; see the module documentation."""

    def __init__(
        self,
        *,
        dialect: Dialect,
        worker_id: str,
        serializer: Serializer,
        run_plan: RunPlan,
        events: Events,
        buffer: int,
    ) -> None:
        self._dialect = dialect
        self._worker_id = worker_id
        self._serializer = serializer
        self._run_plan = run_plan
        self._events = events
        self._send, self._receive = anyio.create_memory_object_stream[Finished](buffer)
        self.counts: Counter[str] = Counter()
        self.pending = 0  # outcomes submitted and not yet stored (or given up on)

        # Hooks nobody implements still cost a call per job; check once.
        self._announce_finish = bool(
            plugin_manager().hook.drip_job_finished.get_hookimpls()
        )

    def submit_nowait(self, job: Job, outcome: Outcome, duration: float) -> bool:
        """Hand an outcome over if the buffer has room; False if it is full."""
        try:
            self._send.send_nowait((job, outcome, duration))
        except anyio.WouldBlock:
            return False
        self.pending += 1
        return True

    async def submit(self, job: Job, outcome: Outcome, duration: float) -> None:
        """Hand an outcome over, waiting for room in the buffer."""
        self.pending += 1
        await self._send.send((job, outcome, duration))

    def close(self) -> None:
        """No more outcomes will come; ``run`` returns once the rest are stored."""
        self._send.close()

    async def run(self) -> None:
        async with self._receive:
            async for first in self._receive:
                batch = [first, *_drain(self._receive, MAX_BATCH - 1)]
                with anyio.CancelScope(shield=True):
                    try:
                        await self._store(batch)
                    finally:
                        self.pending -= len(batch)

    async def _store(self, batch: list[Finished]) -> None:
        """Store a batch; if it cannot be stored, store each outcome alone.

        One outcome the database rejects (an output it cannot hold, say) must
        not strand the others; for that one, a plain failure is stored instead
        so that the job never stays running. A lost connection is no one
        outcome's fault: splitting would only repeat the retries per job.
        """
        error = await self._try_store(batch)
        if error is None:
            for job, outcome, duration in batch:
                self._announce(job, outcome, duration)
            _log_completions(batch)
            return
        if isinstance(error, ConnectionLost):
            logger.error(
                "could not store the outcomes of %s jobs; they stay running until "
                "rescued: %s",
                len(batch),
                error,
                extra={
                    "action": "store_outcomes",
                    "job_ids": [job.id for job, _, _ in batch],
                },
            )
            return
        if len(batch) > 1:
            for item in batch:
                await self._store([item])
            return

        job, outcome, duration = batch[0]
        fallback = self._fallback(job, outcome, error)
        if await self._try_store([(job, fallback, duration)]) is None:
            self._announce(job, fallback, duration)
            _log_completions([(job, fallback, duration)])
            return
        logger.error(
            "could not store the outcome of job %s; it stays running until rescued: %s",
            job.id,
            error,
            extra={"action": "store_outcomes", "job_id": job.id},
        )

    async def _try_store(self, batch: list[Finished]) -> Exception | None:
        """Store ``batch`` in one transaction; None on success, else the error.

        Database errors (a lost connection, a deadlock) are retried with a
        growing delay; anything else is returned at once, since storing the
        same data again would fail the same way.
        """
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                await self._run_plan(self._store_plan(batch))
                return None
            except DatabaseError as error:  # ConnectionLost included
                if attempt == STORE_ATTEMPTS or isinstance(error, UniqueConflict):
                    return error
                logger.warning(
                    "storing job outcomes failed, trying again: %s",
                    error,
                    extra={"action": "store_outcomes", "attempt": attempt},
                )
                await anyio.sleep(min(0.05 * 2**attempt, 5.0))
            except Exception as error:
                return error
        return None

    def _fallback(self, job: Job, outcome: Outcome, error: Exception) -> Outcome:
        """What to store when ``outcome`` itself cannot be stored."""
        logger.error(
            "the database refused job %s's outcome (%s): %s",
            job.id,
            outcome.kind.value,
            _first_line(error),
            extra={"action": "store_outcomes", "job_id": job.id},
        )
        if outcome.kind is OutcomeKind.COMPLETED:
            return Outcome(
                OutcomeKind.COMPLETED
            )  # the work is done; the output is lost
        entry = JobError(
            attempt=job.attempt,
            at=datetime.now(UTC),
            type="unstorable_outcome",
            message=(
                f"the job's outcome ({outcome.kind.value}) could not be stored: "
                f"{type(error).__name__}: {_first_line(error)}"
            ),
        )
        kind = OutcomeKind.DISCARD if job.attempts_exhausted else OutcomeKind.RETRY
        return Outcome(kind, error=entry, delay=outcome.delay or 0.0)

    def _store_plan(self, batch: list[Finished]) -> Plan[None]:
        """Store a batch's outcomes in as few statements as their kinds allow.

        Plain completions take one statement, completions with an output one
        more (run per job, pipelined), and every other outcome its own.
        """
        plain: list[Job] = []
        with_output: list[tuple[int, str]] = []
        others: list[tuple[Job, Outcome]] = []
        for job, outcome, _ in batch:
            completed = outcome.kind is OutcomeKind.COMPLETED
            if completed and outcome.output is NO_OUTPUT:
                plain.append(job)
            elif completed and not job.ephemeral:
                with_output.append((job.id, self._metadata_with_output(job, outcome)))
            else:
                others.append((job, outcome))

        if plain:
            yield from self._dialect.complete_jobs(
                CompleteJobs(
                    [job.id for job in plain],
                    self._worker_id,
                    any_ephemeral=any(job.ephemeral for job in plain),
                )
            )
        if with_output:
            yield from self._dialect.complete_jobs_with_output(
                CompleteWithOutput(with_output, self._worker_id)
            )
        for job, outcome in others:
            yield from self._dialect.finish_job(self._finish_params(job, outcome))

    def _metadata_with_output(self, job: Job, outcome: Outcome) -> str:
        return metadata_with_output(self._serializer, job, outcome.output)

    def _finish_params(self, job: Job, outcome: Outcome) -> FinishJob:
        errors = None
        if outcome.error is not None:
            errors = encode_errors((*job.errors, outcome.error))

        metadata = None
        if outcome.output is not NO_OUTPUT:
            metadata = self._metadata_with_output(job, outcome)

        return FinishJob(
            id=job.id,
            state=_NEXT_STATE[outcome.kind],
            worker_id=self._worker_id,
            errors=errors,
            delay_seconds=outcome.delay,
            give_back_attempt=outcome.kind is OutcomeKind.SNOOZE
            or outcome.attempt_given_back,
            metadata=metadata,
        )

    def _announce(self, job: Job, outcome: Outcome, duration: float) -> None:
        self.counts[outcome.kind.value] += 1
        if outcome.timed_out:
            self.counts["timed_out"] += 1
        _log_outcome(job, outcome, duration)
        if self._announce_finish:
            try:
                plugin_manager().hook.drip_job_finished(
                    job=job, outcome=outcome, duration=duration
                )
            except Exception:
                logger.exception(
                    "a drip_job_finished hook failed", extra={"action": "hook"}
                )
        if self._events.listening:
            self._events.emit(EventKind.JOB_FINISHED, job=job, outcome=outcome)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:500]


def _drain(stream: MemoryObjectReceiveStream[Finished], limit: int) -> list[Finished]:
    items: list[Finished] = []
    while len(items) < limit:
        try:
            items.append(stream.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream):
            break
    return items


def _log_completions(batch: list[Finished]) -> None:
    """Log the completed jobs of a stored batch: one line, whatever its size.

    A line per job would cost more than a short job itself; each job's own
    line is logged at DEBUG (see ``_log_outcome``).
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    completed = [item for item in batch if item[1].kind is OutcomeKind.COMPLETED]
    if not completed:
        return
    if len(completed) == 1:
        if logger.isEnabledFor(logging.DEBUG):
            return  # _log_outcome has logged this job already
        job, _, duration = completed[0]
        _log_completed(logging.INFO, job, duration)
        return

    kinds = Counter(job.kind for job, _, _ in completed)
    slowest = max(duration for _, _, duration in completed)
    logger.info(
        "%s jobs completed (%s), slowest in %.3fs",
        len(completed),
        ", ".join(f"{kind} x{count}" for kind, count in kinds.most_common()),
        slowest,
        extra={
            "action": "jobs_completed",
            "count": len(completed),
            "kinds": dict(kinds),
            "slowest": round(slowest, 6),
        },
    )


def _log_outcome(job: Job, outcome: Outcome, duration: float) -> None:
    """Log one job's outcome; completions only at DEBUG (see ``_log_completions``)."""
    if outcome.kind is OutcomeKind.COMPLETED:
        if logger.isEnabledFor(logging.DEBUG):
            _log_completed(logging.DEBUG, job, duration)
        return

    extra = _outcome_extra(job, outcome.kind, duration)
    if outcome.kind is OutcomeKind.RETRY:
        logger.warning(
            "job %s %s failed (attempt %s/%s), retrying in %.1fs: %s",
            job.id,
            job.kind,
            job.attempt,
            job.max_attempts,
            outcome.delay or 0.0,
            outcome.error.message[:300] if outcome.error else "",
            extra=extra,
        )
    elif outcome.kind is OutcomeKind.DISCARD:
        logger.warning(
            "job %s %s discarded after attempt %s/%s: %s",
            job.id,
            job.kind,
            job.attempt,
            job.max_attempts,
            outcome.error.message[:300] if outcome.error else "",
            extra=extra,
        )
    else:
        logger.info("job %s %s %s", job.id, job.kind, outcome.kind.value, extra=extra)


def _log_completed(level: int, job: Job, duration: float) -> None:
    logger.log(
        level,
        "job %s %s completed in %.3fs",
        job.id,
        job.kind,
        duration,
        extra=_outcome_extra(job, OutcomeKind.COMPLETED, duration),
    )


def _outcome_extra(job: Job, kind: OutcomeKind, duration: float) -> dict[str, Any]:
    return {
        "action": f"job_{kind.value}",
        "job_id": job.id,
        "kind": job.kind,
        "queue": job.queue,
        "attempt": job.attempt,
        "duration": round(duration, 6),
    }
